#!/usr/bin/env bash
# GAU-alpha on a CLUE classification task, the recipe behind the GAU-alpha-pytorch dev table (Adafactor, lr 5e-4
# constant, no warm-up, batch 32, max length 128, 10 epochs - cluewsc2020 30 -, pair token types all 0).
# Expected dev accuracy (GAU-alpha-pytorch, Adafactor): iflytek 61.18, tnews 57.52, afqmc 73.42, cmnli 80.91,
# ocnli 75.69, cluewsc2020 80.59, csl 85.5.
#   MODEL: a checkpoint directory or name, default junnyu/chinese_GAU-alpha-char_L-24_H-768
#   (the kit's store, the HF cache, else fetched).
#   MODEL=path/to/chinese_GAU-alpha-char_L-24_H-768 TASK=iflytek DATA=clue_data/iflytek BACKEND=paddle \
#     bash clue/recipes/gau_alpha_clue.sh          # DATA may be left out after `python fetch.py clue/<task>`
set -euo pipefail
source "$(dirname "$0")/../../tasks/kit_python.sh"
MODEL=${MODEL:-junnyu/chinese_GAU-alpha-char_L-24_H-768}
TASK=${TASK:?set TASK to one of afqmc tnews iflytek cmnli ocnli cluewsc2020 csl}
BACKEND=${BACKEND:-paddle}
OUT=${OUT:-out/clue-$TASK-gau-alpha-$BACKEND}
EPOCHS=10
[ "$TASK" = "cluewsc2020" ] && EPOCHS=30
declare -A EXPECTED=([iflytek]=61.18 [tnews]=57.52 [afqmc]=73.42 [cmnli]=80.91 [ocnli]=75.69 [cluewsc2020]=80.59
                     [csl]=85.5)
EXTRA=${EXTRA:-}   # e.g. "--fp16" on a V100
DATA_ARG=()
[ -n "${DATA:-}" ] && DATA_ARG=(--data_dir "$DATA")
"$PYTHON" "$(dirname "$0")/../run_clue.py" --backend "$BACKEND" --model_name_or_path "$MODEL" \
  --task_name "$TASK" "${DATA_ARG[@]}" --output_dir "$OUT" --do_train --do_eval --do_predict --zip \
  --optim adafactor --learning_rate 5e-4 --lr_scheduler_type constant --warmup_ratio 0 \
  --per_device_train_batch_size 32 --max_seq_length 128 --num_train_epochs "$EPOCHS" --pair_token_types zeros \
  --seed 42 $EXTRA
echo "expected dev accuracy for $TASK (GAU-alpha-pytorch, Adafactor): ${EXPECTED[$TASK]}"
