"""A Gradio page for a trained model: type a review, see the predicted label with every class's probability as bars
(or the predicted rating, for a regression model), and the review with the words that moved the prediction
highlighted."""

import socket

import gradio as gr

from .explain import explain, explainable_model, segments
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


def highlighted(model, tokenizer, text):
    """`text` as gradio's highlighted-text segments: each word with its attribution (integrated gradients) over the
    text's largest, in [-1, 1]; the text between words unscored."""
    (explanation,) = explain(model, tokenizer, [text])
    return [(piece, share) for piece, share, _ in segments(text, explanation["words"])]


def build_demo(classifier, title="hf_lstm", examples=EXAMPLES):
    """A `gr.Interface` around `predict(classifier, [text])`: a `gr.Label` with the predicted label and every class's
    probability as bars; for a multi-label model, the labels above their thresholds in a text box and every label's
    probability as bars; for a regression model, the predicted rating (to 3 decimals)."""
    config = classifier.model.config
    regression, multi_label = config.problem_type == "regression", config.problem_type == "multi_label_classification"

    try:
        model, why_not = explainable_model(classifier), ""
    except ValueError as error:  # an ONNX export or a quantised model: no gradients, no highlights
        model, why_not = None, f" Word highlights: {error}."

    def classify(text):
        (result,) = predict(classifier, [text])
        shown = ((", ".join(result["labels"]) or "(none)", result["scores"]) if multi_label
                 else (f"{result['rating']:.3f}",) if regression else (result["probabilities"],))
        shown = (*shown, highlighted(model, classifier.tokenizer, text)) if model is not None else shown
        return shown if len(shown) > 1 else shown[0]  # one output: its value alone

    label = "Predicted rating" if regression else "Every label's probability" if multi_label else "Prediction"
    outputs = [gr.Label(label=label, num_top_classes=config.num_labels, elem_id="prediction",
                        show_heading=not multi_label)]
    if multi_label:  # the heading would name the most probable label, not the labels above their thresholds
        outputs.insert(0, gr.Textbox(label="Labels above their thresholds", elem_id="labels"))
    if model is not None:
        outputs.append(gr.HighlightedText(label="Words that moved it (red: toward the prediction, blue: against)",
                                          elem_id="words", show_legend=False, color_map=None))
    return gr.Interface(
        fn=classify,
        inputs=gr.Textbox(label="Review", lines=6, placeholder="Type or paste a review", elem_id="review"),
        outputs=outputs,
        examples=[[text] for text in examples],
        title=title,
        description=("An LSTM text classifier (hf_lstm); the review is cut as the model was trained to cut it."
                     + why_not),
        flagging_mode="never",
        analytics_enabled=False,
    )
