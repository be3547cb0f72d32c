{
  "variables": {
    "engine_sources": [
      "native/engine/errno_name.c",
      "native/engine/msg_queue.c",
      "native/engine/pipe.c",
      "native/engine/prng.c",
      "native/engine/reader.c",
      "native/engine/sem.c",
      "native/engine/shm_ring.c",
      "native/engine/spawn.c",
      "native/engine/writer.c",
      "native/engine/writer_ops.c"
    ]
  },
  "target_defaults": {
    "cflags": ["-Wall", "-Wextra", "-O2"],
    "cflags_cc": ["-Wall", "-Wextra", "-O2", "-std=c++17"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
  },
  "targets": [
    {
      "target_name": "ipcast",
      "sources": [
        "native/addon.cc",
        "native/wire_binding.cc",
        "native/wire.c",
        "native/crc32c.c",
        "native/transport_binding.cc",
        "native/ipc_helpers_binding.cc",
        "native/napi_errors.cc",
        "<@(engine_sources)",
        "native/udp_binding.cc",
        "native/udp_io.c",
        "native/pacer_binding.cc",
        "native/pacer/pacer.c",
        "native/relay_binding.cc",
        "native/relay/relay.c",
        "native/relay/relay_control.c",
        "native/relay/relay_out.c",
        "native/relay/relay_wait.c",
        "native/relay/sequencer.c",
        "native/repair/srt_binding.cc",
        "native/repair/rist_binding.cc",
        "native/repair/multicast_pin.cc"
      ],
      "libraries": ["-ldl"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "ipcast-sink",
      "type": "executable",
      "sources": [
        "native/sink.c",
        "native/sink_report.c",
        "native/crc32c.c",
        "<@(engine_sources)"
      ]
    },
    {
      "target_name": "ipcast-baseline",
      "type": "executable",
      "sources": [
        "native/baseline.c",
        "native/crc32c.c",
        "<@(engine_sources)"
      ]
    },
    {
      "target_name": "ipcast-udp-baseline",
      "type": "executable",
      "sources": [
        "native/udp_baseline.c",
        "native/wire.c",
        "native/crc32c.c"
      ]
    }
  ]
}
