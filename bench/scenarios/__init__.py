"""What the benchmark measures besides the public pages, one module per section of the report."""
