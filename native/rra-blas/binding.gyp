{
  "targets": [
    {
      "target_name": "rra_blas",
      "sources": ["src/rra_blas.c", "src/rra_fused.c", "src/rra_pool.c"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/openblas"],
      "libraries": ["-lopenblas", "-lm", "-pthread"],
      "cflags": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-pthread"]
    }
  ]
}
