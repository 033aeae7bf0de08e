"""Pull a revision from a hub directory (every file checked against its sha256), list the hub, or verify a repo.

    python scripts/pull.py myteam/imdb-lstm --hub_dir /shared/hub --revision v1 --to ./imdb-v1
    python scripts/pull.py myteam/imdb-lstm --hub_dir /shared/hub           # prints the verified snapshot's path
    python scripts/pull.py --list --hub_dir /shared/hub                      # repos, branches, tags, revisions
    python scripts/pull.py myteam/imdb-lstm --verify --hub_dir /shared/hub   # check every revision of a repo
"""

import json
import sys
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_lstm.hub import HubError, list_hub, pull, resolve, verify


@dataclass
class PullArguments:
    hub_dir: str | None = field(default=None, metadata={"help": "The hub directory (Hugging Face cache layout)."})
    revision: str = field(default="main", metadata={"help": "Branch, tag or revision id."})
    to: str | None = field(default=None, metadata={"help": "Copy the snapshot into this new folder."})
    list: bool = field(default=False, metadata={"help": "Show every repo with its branches, tags and revisions."})
    verify: bool = field(default=False, metadata={"help": "Check every revision of repo_id; exit 1 on a bad file."})


def main(argv=None):
    parser = HfArgumentParser(PullArguments)
    parser.add_argument("repo_id", nargs="?", help="'org/name' to pull or verify.")
    args, positional = parser.parse_args_into_dataclasses(args=argv)
    args.repo_id = positional.repo_id
    if args.hub_dir is None:
        raise SystemExit("--hub_dir is required")
    try:
        if args.list:
            print(json.dumps(list_hub(args.hub_dir), indent=2))
        elif args.repo_id is None:
            raise SystemExit("give a repo id, or --list")
        elif args.verify:
            revisions = list_hub(args.hub_dir).get(args.repo_id, {}).get("revisions")
            if not revisions:
                raise HubError(f"{args.repo_id}: no such repo in {args.hub_dir}")
            for revision in revisions:
                verify(resolve(args.repo_id, args.hub_dir, revision))
                print(f"{revision}: ok")
        else:
            print(pull(args.repo_id, args.hub_dir, revision=args.revision, to=args.to))
    except HubError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from error


if __name__ == "__main__":
    main()
