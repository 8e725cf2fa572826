"""`python -m synthgen --help` from one compose, as fast as `--cfg job`.

Hydra's own `--help` lists the options of every config group, its 80-odd plugin groups included, which takes
seconds; synthgen's help lists only the app's groups and renders the same `hydra.help.template`.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from omegaconf import OmegaConf

from synthgen.config.tree import register_resolvers
from synthgen.core.paths import CONF_DIR


def app_help(argv: list[str]) -> str | None:
    """The help text for a `--help` command line, or None when it asks for more than this covers (Hydra answers)."""
    args, unknown = get_args_parser().parse_known_args(argv)
    others = (args.config_path, args.config_name, args.cfg, args.info, args.hydra_help, args.multirun, args.run)
    if not args.help or unknown or any(others):
        return None
    overrides = list(args.overrides)
    if args.config_dir:
        overrides.append(f"hydra.searchpath=[file://{os.path.abspath(args.config_dir)}]")
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="synthgen"):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
            loader = GlobalHydra.instance().config_loader()
            assert isinstance(loader, ConfigLoaderImpl)
            repository = loader.repository
            groups = set(repository.get_group_options("", ObjectType.GROUP))
            extra = Path(args.config_dir) if args.config_dir else None  # the user's options, on top of synthgen's
            if extra is not None:
                groups |= {path.name for path in extra.iterdir() if path.is_dir()}
            listed = ""
            for group in sorted(groups - {"hydra"}):  # one line per group, as Hydra writes them
                options = set(repository.get_group_options(group, ObjectType.CONFIG))
                if extra is not None:
                    options |= {path.stem for path in (extra / group).glob("*.yaml")}
                listed += f"{group}: {', '.join(sorted(options))}\n"
            template = str(cfg.hydra.help.template)
    finally:
        GlobalHydra.instance().clear()
    job = OmegaConf.masked_copy(cfg, [str(key) for key in cfg if key != "hydra"])
    return string.Template(template).safe_substitute(
        APP_CONFIG_GROUPS=listed,
        CONFIG=OmegaConf.to_yaml(job, resolve=args.resolve),
        FLAGS_HELP="(see --hydra-help)",
        HYDRA_CONFIG_GROUPS="(see --hydra-help)",
    )
