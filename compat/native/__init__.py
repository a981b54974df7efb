"""The fused C kernel, under the shim's name: ``kmeans_tf.native`` (``python -m compat.native`` builds it)."""

from kmeans_tf.native import BuildError, build, cache_dir, description, kernel, library_path, use_native

__all__ = ["BuildError", "build", "cache_dir", "description", "kernel", "library_path", "use_native"]
