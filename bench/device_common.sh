# Sourced by the device bench scripts (device_table.sh, cuda_step_profile.sh,
# cuda_ab.sh) with LOG set to their log's name: appends everything to
# $OUT/$LOG (OUT defaults to device-out), builds and sets the Lua paths
# (tools/device_env.sh), and sets SYNTH (where synthetic models are written,
# default /tmp/synth) and TOK (the micro model whose tokenizer they borrow).
OUT=${OUT:-device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/$LOG") 2>&1
source tools/device_env.sh
SYNTH=${SYNTH:-/tmp/synth}
mkdir -p "$SYNTH"
TOK=${TOK:-$(ls .carry/micro-r1-qwen2*.gguf shared/models/micro-r1-qwen2-f16.gguf 2>/dev/null | head -1)}
