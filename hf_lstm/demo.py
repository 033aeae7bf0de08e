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
    probability as bars, or, for a regression model, with the predicted rating (to 3 decimals)."""
    regression = classifier.model.config.problem_type == "regression"

    def classify(text):
        (result,) = predict(classifier, [text])
        return f"{result['rating']:.3f}" if regression else result["probabilities"]

    label = "Predicted rating" if regression else "Prediction"
    output = gr.Label(label=label, num_top_classes=classifier.model.config.num_labels, elem_id="prediction")
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
