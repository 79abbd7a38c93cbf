#!/usr/bin/env bash
# CLUENER 2020 with GAU-alpha + GlobalPointer (10 heads x 64, RoPE), the seeds' recipe: batch 16, lr 2e-5 constant,
# weight decay 0.05, 10 epochs, max length 256, threshold 0. Expected dev F1: GAU-alpha 80.01 (its CLUE table);
# GlobalPointer on bert-base-chinese 80.03 / EfficientGlobalPointer 80.66: cluener/recipes/bert_globalpointer.sh.
#   MODEL: a checkpoint directory or name, default junnyu/chinese_GAU-alpha-char_L-24_H-768
#   (the kit's store, the HF cache, else fetched).
#   MODEL=path/to/chinese_GAU-alpha-char_L-24_H-768 DATA=cluener_data BACKEND=paddle HEAD=GlobalPointer \
#     bash cluener/recipes/gau_alpha_globalpointer.sh      # DATA may be left out after `python fetch.py cluener`
set -euo pipefail
source "$(dirname "$0")/../../tasks/kit_python.sh"
MODEL=${MODEL:-junnyu/chinese_GAU-alpha-char_L-24_H-768}
BACKEND=${BACKEND:-paddle}
HEAD=${HEAD:-GlobalPointer}
ROPE=${ROPE:-True}
OUT=${OUT:-out/cluener-gau-alpha-$HEAD-$BACKEND}
EXTRA=${EXTRA:-}   # e.g. "--fp16" on a V100
DATA_ARG=()
[ -n "${DATA:-}" ] && DATA_ARG=(--data_dir "$DATA")
"$PYTHON" "$(dirname "$0")/../run_cluener.py" --backend "$BACKEND" --model_name_or_path "$MODEL" \
  "${DATA_ARG[@]}" --output_dir "$OUT" --do_train --do_eval --do_predict --global_pointer_head "$HEAD" \
  --rope "$ROPE" --head_size 64 --max_seq_length 256 --per_device_train_batch_size 16 --learning_rate 2e-5 \
  --lr_scheduler_type constant --warmup_ratio 0 --weight_decay 0.05 --num_train_epochs 10 --seed 42 $EXTRA
echo "expected dev F1 (micro, GAU-alpha + GlobalPointer): 80.01"
