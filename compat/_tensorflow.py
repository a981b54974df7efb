"""TensorFlow imported without its start-up chatter, under the shim's name (``kmeans_tf._tensorflow`` says how)."""

from kmeans_tf._tensorflow import quietly, tf

__all__ = ["quietly", "tf"]
