{
  "targets": [
    {
      "target_name": "nabla_native",
      "sources": [
        "native/addon.cpp",
        "native/int8.cpp",
        "native/int8_avx512vnni.cpp",
        "native/int8_avx2.cpp",
        "native/threadpool.cpp",
        "native/gemm.cpp",
        "native/gemm_avx512.cpp",
        "native/gemv_avx512.cpp",
        "native/gemm_avx2.cpp",
        "native/gemm_generic.cpp",
        "native/conv.cpp",
        "native/conv_direct_avx512.cpp",
        "native/conv_winograd_avx512.cpp",
        "native/pool.cpp",
        "native/norm.cpp",
        "native/norm_pool.cpp",
        "native/optim.cpp",
        "native/elementwise.cpp"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math"],
      # -Wno-psabi: norm.cpp's AVX clones inline vec8.h's vector helpers, so no vector value
      # crosses a call between code built for different ISAs; GCC's ABI note does not apply.
      "cflags_cc": ["-std=gnu++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-Wno-psabi"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
