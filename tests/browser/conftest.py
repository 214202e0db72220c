"""Browser fixtures: Debian's Chromium driven by Playwright, an embedded system per module, pages per viewport.

A module starts its own `paspor up` (EmbeddedSystem) with the settings it needs (`web_system`, or
`embedded(env)` inside a module-scoped fixture). Each test opens pages with `open_page(viewport)`, at a
phone size (390x844) or a desktop one, and saves a picture of each screen with `shoot(page, name)` into
`$PASPOR_TEST_ARTEFACTS/screenshots/` (default `artefacts/`, git-ignored), which CI keeps.
Outside CI the tier skips when no Chromium is installed; with CI=true that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "small": SMALL_PHONE, "desktop": DESKTOP}
TIMEOUT_MS = 15_000


def chromium_executable() -> str | None:
    """Debian's chromium (or PASPOR_CHROMIUM), never Playwright's own download."""
    wanted = os.environ.get("PASPOR_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def artefacts_dir() -> Path:
    return Path(os.environ.get("PASPOR_TEST_ARTEFACTS") or ROOT / "artefacts")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module: Playwright's sync API holds the main thread's event loop while it
    runs, so it must be gone before the tiers after this one (which call asyncio.run) begin."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the test extras pin it
        executable, missing = None, f"playwright is not installed: {error}"
    else:
        missing = "no Chromium found (apt-get install chromium, or set PASPOR_CHROMIUM)"
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the browser tests need Chromium in CI: {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def embedded(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str] | None = None) -> EmbeddedSystem:
    """A started embedded system with these extra settings (the caller stops it with `stopped`)."""
    system = EmbeddedSystem(tmp_path_factory.mktemp("web-system"), gateway_port=free_port(), env=env or {})
    beside_playwright(system.start)
    return system


# Systems start and stop in a thread of their own, alive all session: Playwright's sync API keeps an event
# loop running in the main thread, and a service dies with the thread that started it (PR_SET_PDEATHSIG).
SYSTEMS_THREAD = ThreadPoolExecutor(1, thread_name_prefix="systems")


def beside_playwright(work: Callable[[], object]) -> None:
    SYSTEMS_THREAD.submit(work).result()


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    """`paspor up` with its default rules, for one test module."""
    system = embedded(tmp_path_factory)
    yield system
    beside_playwright(system.stop)


@pytest.fixture
def open_page(browser) -> Iterator[Callable[..., object]]:
    """open_page(base_url, "phone"|"small"|"desktop", **context_options) -> a new page in its own browser context."""
    contexts = []

    def opener(base_url: str, viewport: str = "phone", **options):
        context = browser.new_context(  # type: ignore[attr-defined]
            base_url=base_url,
            viewport=VIEWPORTS[viewport],
            is_mobile=viewport != "desktop",
            has_touch=viewport != "desktop",
            service_workers="allow",
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    errors: list[str] = []
    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = artefacts_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shoot(screenshots: Path) -> Callable[..., Path]:
    """shoot(page, name): a full-page picture, named by screen, viewport and language (none wider than the screen)."""

    def take(page, name: str) -> Path:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the screen"
        width = page.viewport_size["width"]
        viewport = "phone" if width < 600 else "desktop"
        language = page.evaluate("document.documentElement.lang")
        path = screenshots / f"{name}-{viewport}-{language}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- Staff pages: a Chromium whose camera is a video file -------------------------------------------------


@pytest.fixture
def camera_browser(browser) -> Iterator[Callable[[Path], object]]:
    """camera_browser(video) -> another Chromium whose camera shows `video` (.y4m or .mjpeg), permission granted.

    Chromium's fake capture device reads the file once, at launch, so each video needs its own browser; it comes
    from the session's Playwright (a second sync Playwright cannot start in the same thread).
    """
    launched = []

    def launch(video: Path):
        chromium = browser.browser_type.launch(  # type: ignore[attr-defined]
            executable_path=chromium_executable(),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        launched.append(chromium)
        return chromium

    yield launch
    for chromium in launched:
        chromium.close()
