#!/usr/bin/env bash
# CLUENER 2020 with GlobalPointer / EfficientGlobalPointer on bert-base-chinese, the seeds' recipe (the PyTorch
# GlobalPointer seed: HF Trainer, batch 16, lr 2e-5 constant, weight decay 0.05, 10 epochs, fp16, max length 256,
# threshold 0). Expected dev F1 (micro over (start, end, type)): GlobalPointer 80.03, EfficientGlobalPointer 80.66;
# with / without RoPE: GP 80.26 / 79.3, EGP 80.64 / 79.57. BERT is transformers' on torch and PaddleNLP's on Paddle
# (weights through PaddleNLP's name mapping); the fine-tuned model is saved in transformers' layout by both.
#   MODEL: a checkpoint directory or name, default bert-base-chinese
#   (the kit's store, the HF cache, else fetched).
#   MODEL=path/to/bert-base-chinese DATA=cluener_data BACKEND=paddle HEAD=EfficientGlobalPointer ROPE=True \
#     bash cluener/recipes/bert_globalpointer.sh      # DATA may be left out after `python fetch.py cluener`
set -euo pipefail
source "$(dirname "$0")/../../tasks/kit_python.sh"
MODEL=${MODEL:-bert-base-chinese}
BACKEND=${BACKEND:-paddle}
HEAD=${HEAD:-GlobalPointer}
ROPE=${ROPE:-True}
OUT=${OUT:-out/cluener-bert-$HEAD-$BACKEND}
EXTRA=${EXTRA:-}   # e.g. "--fp16" on a V100 (the seed's setting)
declare -A EXPECTED=([GlobalPointer-True]=80.26 [GlobalPointer-False]=79.3 [EfficientGlobalPointer-True]=80.64
                     [EfficientGlobalPointer-False]=79.57)
DATA_ARG=()
[ -n "${DATA:-}" ] && DATA_ARG=(--data_dir "$DATA")
"$PYTHON" "$(dirname "$0")/../run_cluener.py" --backend "$BACKEND" --model_name_or_path "$MODEL" \
  "${DATA_ARG[@]}" --output_dir "$OUT" --do_train --do_eval --do_predict --global_pointer_head "$HEAD" \
  --rope "$ROPE" --head_size 64 --max_seq_length 256 --per_device_train_batch_size 16 --learning_rate 2e-5 \
  --lr_scheduler_type constant --warmup_ratio 0 --weight_decay 0.05 --num_train_epochs 10 --seed 42 $EXTRA
echo "expected dev F1 (micro, bert-base-chinese + $HEAD, RoPE $ROPE): ${EXPECTED[$HEAD-$ROPE]} (seed table;" \
     "bojone's Keras GlobalPointer: 80.03)"
