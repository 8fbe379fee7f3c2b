{
  "targets": [
    {
      "target_name": "udp_recv",
      "sources": ["udp_recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["udp_recv.c"]}]]
    },
    {
      "target_name": "unix_dgram",
      "sources": ["unix_dgram.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS=='win'", {"type": "none", "sources!": ["unix_dgram.c"]}]]
    }
  ]
}
