"""`make tutorial`: the "using the terminal" video, made from the kiosk's own screens.

Each step is a screenshot of the real shell (offscreen) and a sentence spoken in French by
espeak-ng; ffmpeg joins them into a small WebM (VP9 + Opus), and the same sentences become its
WebVTT subtitles, translated with the same timings into the kiosk's other languages (the screens
and the voice stay French, like the guide). Output: config/help/videos/utiliser-la-borne.webm,
.vtt and .<code>.vtt. ``--subtitles-only`` rewrites the translated subtitles from the French
.vtt's timings without remaking the video.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NAME = "utiliser-la-borne"
SIZE = (1280, 800)
STEPS = [
    ("attract", "Bienvenue sur la borne. Pour commencer, touchez l'écran."),
    ("home", "Les démarches sont rangées par thème. Touchez celle que vous voulez faire."),
    ("home", "En haut de l'écran, le bouton orange appelle une personne pour vous aider."),
    ("help", "Le bouton Aide explique les démarches, étape par étape."),
    ("questions", "Quand vous avez fini, touchez Terminer ma session. Tout ce que vous avez fait est effacé."),
]
# The same sentences for subtitles in the kiosk's other languages (button names as its top bar says them).
SUBTITLES = {
    "en": [
        "Welcome to the terminal. To start, touch the screen.",
        "The services are sorted by subject. Touch the one you want to use.",
        "At the top of the screen, the orange button calls a person to help you.",
        "The Help button explains each procedure, step by step.",
        "When you have finished, touch I'm done. Everything you did is erased.",
    ],
    "ar": [
        "مرحباً بك في الجهاز. للبدء، المس الشاشة.",
        "الإجراءات مرتبة حسب الموضوع. المس الإجراء الذي تريد القيام به.",
        "في أعلى الشاشة، يستدعي الزر البرتقالي شخصاً لمساعدتك.",
        "زر مساعدة يشرح الإجراءات، خطوة بخطوة.",
        "عندما تنتهي، المس إنهاء جلستي. يُمحى كل ما قمت به.",
    ],
    "pt": [
        "Bem-vindo ao terminal. Para começar, toque no ecrã.",
        "Os serviços estão arrumados por tema. Toque no que quer usar.",
        "No topo do ecrã, o botão cor de laranja chama uma pessoa para ajudar.",
        "O botão Ajuda explica os procedimentos, passo a passo.",
        "Quando terminar, toque em Terminar a sessão. Tudo o que fez é apagado.",
    ],
}


def vtt_time(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def write_subtitles(target: Path, timings: list[tuple[str, str]]) -> None:
    """The French .vtt and one per other language, cue for cue on the same timings."""
    for code, sentences in [("fr", [text for _screen, text in STEPS]), *SUBTITLES.items()]:
        cues = [
            f"{n + 1}\n{start} --> {end}\n{text}\n"
            for n, ((start, end), text) in enumerate(zip(timings, sentences, strict=True))
        ]
        name = f"{NAME}.vtt" if code == "fr" else f"{NAME}.{code}.vtt"
        (target / name).write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")


def french_timings(target: Path) -> list[tuple[str, str]]:
    lines = (target / f"{NAME}.vtt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" --> ")) for line in lines if " --> " in line]  # type: ignore[misc]


def screens(out: Path) -> list[Path]:
    from PySide6.QtCore import QEventLoop, QTimer

    from kiosk.core.loading import load_config
    from kiosk.core.ports import ManualClock
    from kiosk.devices.fakes import FakePrinter
    from kiosk.shell.app import create_application
    from kiosk.shell.assembly import build_kiosk

    create_application()
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")

    def settle(ms: int = 900) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    kiosk = build_kiosk(
        config,
        out / "sessions",
        printer=FakePrinter(),
        clock=ManualClock(),
        store=None,
        speech=None,
        template_cache=None,
    )
    kiosk.window.resize(*SIZE)
    kiosk.window.show()
    shots = []
    for n, (screen, _text) in enumerate(STEPS):
        if screen == "home":
            kiosk.controller.start_session()
            kiosk.controller.go_home()
        elif screen == "help":
            kiosk.controller.open_page("help")
        elif screen == "questions":
            kiosk.controller.end_session()
        settle(1500)
        path = out / f"step{n}.png"
        kiosk.window.grab().save(str(path))
        shots.append(path)
    kiosk.close()
    return shots


def main() -> int:
    target = REPO / "config" / "help" / "videos"
    target.mkdir(parents=True, exist_ok=True)
    if "--subtitles-only" in sys.argv:
        write_subtitles(target, french_timings(target))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shots = screens(work)
        durations, timings, t = [], [], 0.0
        for n, (_screen, text) in enumerate(STEPS):
            wav = work / f"step{n}.wav"
            subprocess.run(["espeak-ng", "-v", "fr", "-s", "140", "-w", str(wav), text], check=True)
            with wave.open(str(wav)) as audio:
                length = audio.getnframes() / audio.getframerate() + 0.8  # a breath between sentences
            durations.append(length)
            timings.append((vtt_time(t), vtt_time(t + length - 0.3)))
            t += length
        images = work / "images.txt"
        images.write_text(
            "".join(f"file '{shot}'\nduration {d:.3f}\n" for shot, d in zip(shots, durations, strict=True))
            + f"file '{shots[-1]}'\n",
            encoding="utf-8",
        )
        sounds = work / "sounds.txt"
        padded = []
        for n, length in enumerate(durations):
            pad = work / f"pad{n}.wav"
            subprocess.run(
                [
                    "ffmpeg",
                    "-loglevel",
                    "error",
                    "-y",
                    "-i",
                    str(work / f"step{n}.wav"),
                    "-af",
                    f"apad=whole_dur={length:.3f}",
                    "-ar",
                    "48000",
                    "-ac",
                    "1",
                    str(pad),
                ],
                check=True,
            )
            padded.append(pad)
        sounds.write_text("".join(f"file '{p}'\n" for p in padded), encoding="utf-8")
        video = target / f"{NAME}.webm"
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(images),
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(sounds),
                "-vf",
                "fps=5,format=yuv420p",
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "0",
                "-crf",
                "42",
                "-deadline",
                "good",
                "-cpu-used",
                "4",
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                "-shortest",
                str(video),
            ],
            check=True,
        )
        write_subtitles(target, timings)
    print(video, f"{video.stat().st_size // 1024} KiB, {t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
