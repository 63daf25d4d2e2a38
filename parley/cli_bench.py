"""`parley bench ...`: benchmarks of a running or embedded Parley (mounted by parley/cli.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

bench_app = typer.Typer(help="Measure Parley: caption latency and accuracy, spoken-reply latency.",
                        no_args_is_help=True)


@bench_app.command("captions")
def captions(audio: Path = typer.Option(..., "--audio", exists=True, dir_okay=False, readable=True,
                                        help="Audio file played as a participant's microphone, in real time."),
             url: str = typer.Option(None, help="A running Parley (its ICE must be loopback-only: "
                                                "PARLEY_WEBRTC_LOOPBACK_ONLY=1). Default: start one on a free port."),
             reference: Path = typer.Option(None, "--reference", exists=True, dir_okay=False, readable=True,
                                            help="Who spoke when (.rttm) or who said what when (.stm): "
                                                 "scores DER (no collar), WER, finals."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the default is a summary).")) -> None:
    """Join a room, play AUDIO as the microphone, and time the live captions."""
    from bench.captions import bench_captions
    from bench.reference import ReferenceError, describe, read_reference

    try:
        scored_against = read_reference(reference) if reference else None
    except (ReferenceError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--reference") from None
    result = asyncio.run(bench_captions(audio, url, scored_against))
    if as_json:
        typer.echo(json.dumps(result))
        return
    for final in result["finals"]:
        typer.echo(f"[{final['start']:7.2f}-{final['end']:7.2f}] {final['speaker']}: {final['text']}")
    typer.echo(f"final latency s: {result['final_latency_s']}  interim lag s: {result['interim_lag_s']}"
               + (f"  WER: {result['wer']:.1%}" if "wer" in result else ""))
    if "reference_scores" in result:
        typer.echo(f"against {reference.name}: {describe(result['reference_scores'])}")


@bench_app.command("voice")
def voice(audio: list[Path] = typer.Option([], "--audio", exists=True, dir_okay=False, readable=True,
                                           help="A question, played as one user turn; repeat for more turns."),
          paused: bool = typer.Option(False, "--paused", help="Also play turns with a 0.4-1.0 s pause mid-sentence "
                                                              "(real LibriVox speech and piper questions): "
                                                              "the cut-off rate."),
          url: str = typer.Option(None, help="A running Parley (its ICE must be loopback-only: "
                                             "PARLEY_WEBRTC_LOOPBACK_ONLY=1). Default: start one on a free port."),
          barge_ins: int = typer.Option(3, "--barge-ins", min=0, help="Times to talk over a spoken reply."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the default is a summary).")) -> None:
    """Talk to the assistant: play each AUDIO as a turn, time its spoken replies and barge-ins at the client."""
    from bench.voice import bench_voice

    if paused:
        from bench.paused_speech import write_paused_turns

        audio = [*audio, *write_paused_turns()]
    if not audio:
        raise typer.BadParameter("give at least one --audio file, or --paused", param_hint="--audio")
    result = asyncio.run(bench_voice(audio, url, barge_ins))
    if as_json:
        typer.echo(json.dumps(result))
        return
    for reply in result["replies"]:
        typer.echo(f"[{reply['audio_s']:5.2f} s] {reply['text']}")
    typer.echo(f"e2e latency s: {result['e2e_latency_s']}  barge-in stop s: {result['barge_in_stop_s']}  "
               f"cut-off rate: {result['cut_off_rate']}")
    typer.echo("stages s: " + "  ".join(f"{name}={value['p50']}" for name, value in result["stages_s"].items()))
