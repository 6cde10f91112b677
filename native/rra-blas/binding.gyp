{
  "targets": [
    {
      "target_name": "rra_blas",
      "sources": ["src/rra_blas.c"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/openblas"],
      "libraries": ["-lopenblas"],
      "cflags": ["-O2"]
    }
  ]
}
