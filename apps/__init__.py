"""Parsl side of mlmd: apps (:mod:`apps.bindings`), site → Parsl config, ``mlmd site check``."""
