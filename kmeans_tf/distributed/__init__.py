"""k-means on several workers: ``kmeans(..., strategy=...)`` joined by ``tf.distribute``'s collectives.

- ``replicas``: the strategy's replicas, their collectives, and the distributed fit over streamed passes.
"""
