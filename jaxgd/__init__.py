"""jaxgd: gradient-descent parameter experiments in one compiled JAX call."""
