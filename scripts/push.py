"""Push a saved model folder to a hub directory as a new revision; prints the revision id.

    python scripts/push.py outputs/imdb myteam/imdb-lstm --hub_dir /shared/hub --tag v1
"""

from dataclasses import dataclass, field

from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.hub import HubError, push


@dataclass
class PushArguments:
    hub_dir: str = field(metadata={"help": "The hub directory (Hugging Face cache layout)."})
    branch: str = field(default="main", metadata={"help": "Branch moved to the new revision."})
    tag: str | None = field(
        default=None,
        metadata={"help": "Also tag the revision with this name. Tags do not move: one naming another revision is refused."},
    )
    force_tag: bool = field(
        default=False, metadata={"help": "Move --tag even if it names another revision (and say from where to where)."}
    )


def main(argv=None):
    args, positional = parse_command_line(PushArguments, [
        ("model_dir", "A folder written by scripts/train.py (or save_pretrained)."),
        ("repo_id", "'org/name' (validated like huggingface_hub does)."),
    ], argv)
    with one_error_line(HubError):
        print(push(positional.model_dir, positional.repo_id, args.hub_dir, branch=args.branch, tag=args.tag,
                   force_tag=args.force_tag))


if __name__ == "__main__":
    main()
