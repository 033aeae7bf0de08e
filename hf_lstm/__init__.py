"""hf_lstm: an LSTM text classifier that is a native Hugging Face model.

Importing the package registers `LSTMConfig` and the models with the transformers Auto classes.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

from .configuration_lstm import LSTMConfig
from .modeling_lstm import (
    LSTMForCausalLM,
    LSTMForSequenceClassification,
    LSTMModel,
    LSTMPreTrainedModel,
    ReferenceLSTM,
)

AutoConfig.register(LSTMConfig.model_type, LSTMConfig, exist_ok=True)
AutoModel.register(LSTMConfig, LSTMModel, exist_ok=True)
AutoModelForSequenceClassification.register(LSTMConfig, LSTMForSequenceClassification, exist_ok=True)
AutoModelForCausalLM.register(LSTMConfig, LSTMForCausalLM, exist_ok=True)

# Saved models carry this code and an `auto_map`, so `trust_remote_code=True` loads them without the package.
LSTMConfig.register_for_auto_class()
LSTMModel.register_for_auto_class("AutoModel")
LSTMForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
LSTMForCausalLM.register_for_auto_class("AutoModelForCausalLM")

__all__ = ["LSTMConfig", "LSTMForCausalLM", "LSTMForSequenceClassification", "LSTMModel", "LSTMPreTrainedModel", "ReferenceLSTM"]
