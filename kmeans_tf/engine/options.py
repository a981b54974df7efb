"""The engine's vocabulary: strategy names and defaults, defined once.

This module imports no TensorFlow, so that the command line's ``--help`` and the
benchmark can read it at no cost. Everything else imports these names; nothing copies them.
"""

# How the initial centroids are chosen (``init=``).
RANDOM_INIT = "random"  # distinct samples, as the lesson picks them
KMEANS_PLUSPLUS_INIT = "k-means++"  # scikit-learn's greedy k-means++
KMEANS_PARALLEL_INIT = "k-means||"  # Bahmani et al. 2012: a few sampling rounds, then k-means++ on the candidates
INIT_STRATEGIES = (RANDOM_INIT, KMEANS_PLUSPLUS_INIT, KMEANS_PARALLEL_INIT)

# How each Lloyd iteration is computed (``algorithm=``); all give the same labels.
AUTO = "auto"  # plain passes while many labels change, then bounded ones
LLOYD = "lloyd"  # every sample measured against every centroid
HAMERLY = "hamerly"  # distance bounds from the first pass (Hamerly 2010)
ALGORITHMS = (AUTO, LLOYD, HAMERLY)

DEFAULT_INIT = KMEANS_PLUSPLUS_INIT
DEFAULT_ALGORITHM = AUTO
DEFAULT_N_INIT = 1
DEFAULT_MAX_ITER = 300
DEFAULT_TOL = 1e-4  # relative to the mean per-feature variance, as in scikit-learn
# k-means||: sampling rounds, and the oversampling factor l = factor * k of each round (Spark MLlib's 2 and 2k);
# greedy k-means++ runs this many times on the weighted candidates, the lowest weighted cost wins.
DEFAULT_INIT_ROUNDS = 2
OVERSAMPLING_FACTOR = 2
RECLUSTER_TRIES = 3

# Bytes of one (chunk rows, n_clusters) distance block on TensorFlow's ops; sets the rows per chunk.
CHUNK_BYTES = 4 * 2**20

# Ranges of the integer options: the loop counts iterations in an int32 tensor, and
# numpy.random.RandomState takes seeds in [0, 2**32).
MAX_ITER_LIMIT = 2**31 - 1
MAX_SEED = 2**32 - 1

# Choosing k (``elbow``): the silhouette compares every pair of rows, so it is measured on a seeded
# sample of at most this many; the kneedle rule (Satopää et al. 2011) suggests the k, and needs a
# point between the first and the last k.
DEFAULT_SILHOUETTE_ROWS = 10000
KNEEDLE_RULE = "kneedle"
MIN_K_VALUES = 3
