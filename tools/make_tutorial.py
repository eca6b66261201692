"""`make tutorial`: the "using the terminal" video, made from the kiosk's own screens.

Each step is a screenshot of the real shell (offscreen) and a sentence spoken in French by
espeak-ng; ffmpeg joins them into a small WebM (VP9 + Opus), and the same sentences become its
WebVTT subtitles. Output: config/help/videos/utiliser-la-borne.webm and .vtt.
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


def vtt_time(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def screens(out: Path) -> list[Path]:
    from PySide6.QtCore import QEventLoop, QTimer

    from kiosk.core.config import load_config
    from kiosk.core.ports import ManualClock
    from kiosk.devices.fakes import FakePrinter
    from kiosk.shell.app import create_application
    from kiosk.shell.window import KioskWindow

    create_application()
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")

    def settle(ms: int = 900) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    window = KioskWindow(config, FakePrinter(), clock=ManualClock(), session_root=out / "sessions", speech=None)
    window.resize(*SIZE)
    window.show()
    shots = []
    for n, (screen, _text) in enumerate(STEPS):
        if screen == "home":
            window.start_session()
            window.go_home()
        elif screen == "help":
            window._open_internal("help")
        elif screen == "questions":
            window.end_session()
        settle(1500)
        path = out / f"step{n}.png"
        window.grab().save(str(path))
        shots.append(path)
    window.allow_close()
    window.close()
    return shots


def main() -> int:
    target = REPO / "config" / "help" / "videos"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shots = screens(work)
        durations, cues, t = [], [], 0.0
        for n, (_screen, text) in enumerate(STEPS):
            wav = work / f"step{n}.wav"
            subprocess.run(["espeak-ng", "-v", "fr", "-s", "140", "-w", str(wav), text], check=True)
            with wave.open(str(wav)) as audio:
                length = audio.getnframes() / audio.getframerate() + 0.8  # a breath between sentences
            durations.append(length)
            cues.append(f"{n + 1}\n{vtt_time(t)} --> {vtt_time(t + length - 0.3)}\n{text}\n")
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
        (target / f"{NAME}.vtt").write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    print(video, f"{video.stat().st_size // 1024} KiB, {t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
