"""A Gradio page for a trained model: type a review, see the predicted label with every class's probability as bars
(or the predicted rating, for a regression model)."""

import socket

import gradio as gr

from .prediction import predict

EXAMPLES = [
    "An absolute delight from start to finish; I would recommend it to anyone.",
    "Dull, overpriced and badly made. It fell apart after a week and I want my money back.",
    "Not bad, but I expected more: the first half is lovely and then it drags.",
]


def check_port_free(host, port):
    """Refuse (`OSError`, naming the address) a port another program holds, before the model is loaded."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"{host}:{port} cannot be served ({error.strerror}); pass another --port") from None


def build_demo(classifier, title="hf_lstm", examples=EXAMPLES):
    """A `gr.Interface` around `predict(classifier, [text])`: a `gr.Label` with the predicted label and every class's
    probability as bars; for a multi-label model, the labels above their thresholds in a text box and every label's
    probability as bars; for a regression model, the predicted rating (to 3 decimals)."""
    config = classifier.model.config
    regression, multi_label = config.problem_type == "regression", config.problem_type == "multi_label_classification"

    def classify(text):
        (result,) = predict(classifier, [text])
        if multi_label:
            return ", ".join(result["labels"]) or "(none)", result["scores"]
        return f"{result['rating']:.3f}" if regression else result["probabilities"]

    label = "Predicted rating" if regression else "Every label's probability" if multi_label else "Prediction"
    output = gr.Label(label=label, num_top_classes=config.num_labels, elem_id="prediction", show_heading=not multi_label)
    if multi_label:  # the heading would name the most probable label, not the labels above their thresholds
        output = [gr.Textbox(label="Labels above their thresholds", elem_id="labels"), output]
    return gr.Interface(
        fn=classify,
        inputs=gr.Textbox(label="Review", lines=6, placeholder="Type or paste a review", elem_id="review"),
        outputs=output,
        examples=[[text] for text in examples],
        title=title,
        description="An LSTM text classifier (hf_lstm); the review is cut as the model was trained to cut it.",
        flagging_mode="never",
        analytics_enabled=False,
    )
