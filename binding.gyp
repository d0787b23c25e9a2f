{
  # finerank_native: N-API addon calling OpenBLAS cblas_sgemm (see native/finerank.cc).
  # The OpenBLAS include and library directories are found by scripts/build-native.mjs
  # (pkg-config, then the usual Debian/Ubuntu/Fedora/Homebrew locations); an empty answer
  # leaves the compiler's default search paths.
  "targets": [
    {
      "target_name": "finerank_native",
      "sources": ["native/finerank.cc", "native/dense.cc", "native/embedding.cc", "native/gbdt.cc", "native/gru.cc", "native/dice.cc", "native/attention.cc", "native/rows.cc", "native/pairs.cc", "native/layer-norm.cc", "native/gate-mix.cc", "native/cin.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/build-native.mjs --print include_dirs)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      # -O3: the fused loops of dense.cc need GCC's vectorizer; -ffp-contract=off: no fused
      # multiply-add, so native and TypeScript kernels round identically (no -ffast-math, no
      # -march=native: the addon must run on any x86-64; dense.cc dispatches AVX2 at run time).
      "cflags_cc": ["-O3", "-std=c++17", "-ffp-contract=off"],
      "libraries": ["<!@(node scripts/build-native.mjs --print libraries)"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      }
    }
  ]
}
