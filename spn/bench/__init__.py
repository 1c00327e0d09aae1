"""The benchmark: a synthetic network of any size and a school year of its reports."""
