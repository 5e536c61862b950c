"""The `finetune` stage: ECG-FM fine-tuned for LVSD through the shared training engine."""
