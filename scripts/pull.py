"""Pull a revision from a hub directory (every file checked against its sha256), list the hub, or verify a repo.

    python scripts/pull.py myteam/imdb-lstm --hub_dir /shared/hub --revision v1 --to ./imdb-v1
    python scripts/pull.py myteam/imdb-lstm --hub_dir /shared/hub           # prints the verified snapshot's path
    python scripts/pull.py --list --hub_dir /shared/hub                      # repos, branches, tags, revisions
    python scripts/pull.py myteam/imdb-lstm --verify --hub_dir /shared/hub   # check every revision of a repo
"""

import json
from dataclasses import dataclass, field

from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.hub import HubError, list_hub, pull, resolve, verify


@dataclass
class PullArguments:
    hub_dir: str | None = field(default=None, metadata={"help": "The hub directory (Hugging Face cache layout)."})
    revision: str = field(default="main", metadata={"help": "Branch, tag or revision id."})
    to: str | None = field(default=None, metadata={"help": "Copy the snapshot into this new folder."})
    list: bool = field(default=False, metadata={"help": "Show every repo with its branches, tags and revisions."})
    verify: bool = field(default=False, metadata={"help": "Check every revision of repo_id; exit 1 on a bad file."})


def main(argv=None):
    args, positional = parse_command_line(PullArguments, [("repo_id", "'org/name' to pull or verify.", "?")], argv)
    with one_error_line(HubError):
        if args.hub_dir is None:
            raise HubError("--hub_dir is required")
        if args.list:
            print(json.dumps(list_hub(args.hub_dir), indent=2))
        elif positional.repo_id is None:
            raise HubError("give a repo id, or --list")
        elif args.verify:
            revisions = list_hub(args.hub_dir).get(positional.repo_id, {}).get("revisions")
            if not revisions:
                raise HubError(f"{positional.repo_id}: no such repo in {args.hub_dir}")
            for revision in revisions:
                verify(resolve(positional.repo_id, args.hub_dir, revision))
                print(f"{revision}: ok")
        else:
            print(pull(positional.repo_id, args.hub_dir, revision=args.revision, to=args.to))


if __name__ == "__main__":
    main()
