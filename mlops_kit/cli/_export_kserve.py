"""``mlops-kit export kserve ENDPOINT --out DIR``: an InferenceService manifest and its image's build context."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_kit.cli._app import emit, json_option
from mlops_kit.cli._endpoints import deployer_of
from mlops_kit.cli._export import export


@export.command("kserve")
@click.argument("endpoint")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="The folder to write (created; refused if it is not empty, unless --force).",
)
@click.option(
    "--image",
    metavar="NAME",
    default=None,
    help="The image repository, without a tag (default mlops-kit/ENDPOINT); the tag is MODEL-VERSION.",
)
@click.option(
    "--secret",
    metavar="NAME",
    default="mlops-kit-storage",
    show_default=True,
    help="The Kubernetes Secret whose keys become the container's environment (storage credentials).",
)
@click.option("--namespace", metavar="NS", default=None, help="metadata.namespace of the InferenceService.")
@click.option("--force", is_flag=True, help="Replace what an earlier export wrote in --out.")
@click.option("--allow-unpinned", is_flag=True, help="Accept a model that recorded no library versions.")
@json_option
@click.pass_context
def kserve(
    ctx: click.Context,
    endpoint: str,
    out: Path,
    image: str | None,
    secret: str,
    namespace: str | None,
    force: bool,
    allow_unpinned: bool,
    as_json: bool,
) -> None:
    """Write the KServe InferenceService of ENDPOINT and the build context of its image.

    A canary becomes canaryTrafficPercent on the candidate's revision; a shadow is left
    out (KServe does not mirror traffic). Credentials are referenced from --secret, never
    written. Nothing is written if the endpoint does not exist.
    """
    from mlops_kit.integrations.kserve import export as export_kserve

    done = export_kserve(
        deployer_of(ctx),
        endpoint,
        out,
        image=image,
        secret=secret,
        namespace=namespace,
        force=force,
        allow_unpinned=allow_unpinned,
    )
    emit(
        {
            "out": str(done.out),
            "manifest": str(done.manifest),
            "model": done.model,
            "image": done.image,
            "canary_percent": done.canary_percent,
            "files": [str(p.relative_to(done.out)) for p in done.files],
        },
        as_json,
    )
