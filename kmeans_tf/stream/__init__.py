"""Data on disk, streamed a chunk at a time: k-means on files larger than memory.

- ``budget``: the memory budget and the sizes it sets (chunk rows, labels in memory or in a scratch file);
  imports no TensorFlow;
- ``sources``: memory maps and folders of shards (``Shards``, ``load_shards``), their rows read from their files
  (not through the maps), chunks read ahead by a thread;
- ``datasets``: a finite ``tf.data.Dataset`` of float batches (``DatasetRows``), read again for each pass;
- ``prepare``: the door's checks and the centring, chunk by chunk;
- ``passes``: a streamed fit's passes (Lloyd's, the farthest rows, the final one);
- ``streamed``: ``kmeans``, ``predict`` and ``inertia`` on streamed samples, and their seeding;
- ``checkpoint``: a long fit saved every few iterations, and resumed.
"""
