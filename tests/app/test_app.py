"""`cin-style app`: the HTTP API on a real server (good and bad requests, concurrent requests, the page answering
during a long request) and the page in a real headless browser (Debian's chromium)."""

import io
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

from cin_style.app.server import PREVIEW_SIDE, create_app  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
COFFEE = os.path.join(ROOT, "assets", "examples", "coffee.png")


class Server:
    def __init__(self, **options):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(**options), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def server():
    running = Server(max_pixels=2_000_000)
    yield running
    running.stop()


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _photo(width=120, height=80, seed=0) -> bytes:
    small = (np.random.default_rng(seed).random((4, 6, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(small).resize((width, height), Image.BICUBIC).save(buffer, format="JPEG")
    return buffer.getvalue()


def post(server, fields: dict, files: dict) -> tuple[int, bytes, str]:
    """A multipart POST to /api/stylize; ``files`` maps a field to bytes or a list of bytes."""
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{item}\r\n".encode())
    for name, value in files.items():
        for index, data in enumerate(value if isinstance(value, list) else [value]):
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f{index}\"\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(server.url + "/api/stylize", data=body.getvalue(), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.read(), response.headers.get("Content-Type")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type")


def _error(result) -> str:
    status, body, kind = result
    assert 400 <= status < 500 and kind == "application/json", (status, body[:200])
    return json.loads(body)["error"]


def test_styles_and_a_stylized_png_of_the_photos_size(server):
    with urllib.request.urlopen(server.url + "/api/styles") as response:
        styles = json.load(response)
    assert len(styles) == 16 and styles[11]["name"] == "starry_night"
    assert styles[11]["title"] == "The Starry Night" and styles[11]["artist"] == "Vincent van Gogh"
    status, body, kind = post(server, {"style": "starry_night:0.7,the_scream:0.3", "strength": "0.8",
                                       "preserve_color": "false"}, {"image": _photo()})
    assert (status, kind) == (200, "image/png")
    assert Image.open(io.BytesIO(body)).size == (120, 80)
    with open(COFFEE, "rb") as handle:  # a preview: the long side at most PREVIEW_SIDE
        status, body, _ = post(server, {"style": "3", "preview": "true"}, {"image": handle.read()})
    assert status == 200 and max(Image.open(io.BytesIO(body)).size) == PREVIEW_SIDE


def test_a_mask_gives_each_side_its_own_style(server):
    photo = _photo(96, 64)
    mask = np.zeros((64, 96), np.uint8)
    mask[:, :48] = 255
    split = np.asarray(Image.open(io.BytesIO(post(server, {"style": "udnie", "style_outside": "great_wave",
                                                          "feather": "0"}, {"image": photo, "mask": _png(mask)})[1])))
    left = np.asarray(Image.open(io.BytesIO(post(server, {"style": "udnie"}, {"image": photo})[1])))
    right = np.asarray(Image.open(io.BytesIO(post(server, {"style": "great_wave"}, {"image": photo})[1])))
    inner = slice(8, 56)
    assert np.abs(split[inner, 8:36].astype(int) - left[inner, 8:36]).mean() < 2
    assert np.abs(split[inner, 60:88].astype(int) - right[inner, 60:88]).mean() < 2
    painted = np.zeros((64, 96), np.uint8)  # the page's brushes: region masks with their own styles
    painted[:, 48:] = 255
    status, body, _ = post(server, {"style": "udnie", "region_style": "great_wave", "feather": "0"},
                           {"image": photo, "region_mask": _png(painted)})
    assert status == 200
    assert np.abs(np.asarray(Image.open(io.BytesIO(body))).astype(int) - split).mean() < 2


@pytest.mark.parametrize("fields,files,message", [
    ({"style": "udnie"}, {"image": b"not an image at all"}, "image: not a supported image"),
    ({"style": "udnie"}, {}, "image: missing"),
    ({"style": "no_such_style"}, {"image": "photo"}, "style: unknown style 'no_such_style'"),
    ({"style": "udnie:-1,the_kiss:1"}, {"image": "photo"}, "style:"),
    ({"style": "udnie:0,the_kiss:0"}, {"image": "photo"}, "style:"),
    ({"style": ""}, {"image": "photo"}, "style: empty"),
    ({"style": "udnie", "strength": "2"}, {"image": "photo"}, "strength: 2.0 is outside 0.0 to 1.0"),
    ({"style": "udnie", "style_scale": "huge"}, {"image": "photo"}, "style_scale:"),
    ({"style": "udnie", "preserve_color": "maybe"}, {"image": "photo"}, "preserve_color:"),
    ({"style": "udnie", "style_outside": "the_kiss"}, {"image": "photo", "mask": "small mask"}, "mask: 8x8 does not "
                                                                                                 "match"),
    ({"style": "udnie"}, {"image": "photo", "mask": "small mask"}, "mask: give the mask"),
])
def test_bad_requests_get_a_4xx_naming_the_field_and_the_server_keeps_serving(server, fields, files, message):
    data = {"photo": _photo(), "small mask": _png(np.zeros((8, 8), np.uint8))}
    files = {key: data.get(value, value) for key, value in files.items()}
    assert message in _error(post(server, fields, files))
    assert post(server, {"style": "udnie"}, {"image": _photo()})[0] == 200


def test_uploads_over_the_limits_are_refused():
    small = Server(max_pixels=5_000, max_upload_bytes=200_000)
    try:
        status, body, _ = post(small, {"style": "udnie"}, {"image": _photo(120, 80)})
        assert status == 413 and "exceeds the limit of 5000" in json.loads(body)["error"]
        status, body, _ = post(small, {"style": "udnie"}, {"image": b"x" * 300_000})
        assert status == 413 and "more than the 200000 allowed" in json.loads(body)["error"]
    finally:
        small.stop()


def test_concurrent_requests_each_get_their_own_style_and_the_page_stays_responsive(server):
    photo = _photo(160, 120, seed=4)
    styles = ["udnie", "great_wave", "the_kiss", "mondrian_composition_ii"]
    alone = {s: np.asarray(Image.open(io.BytesIO(post(server, {"style": s}, {"image": photo})[1]))) for s in styles}
    together: dict[str, np.ndarray] = {}

    def worker(style):
        together[style] = np.asarray(Image.open(io.BytesIO(post(server, {"style": style}, {"image": photo})[1])))

    threads = [threading.Thread(target=worker, args=(s,)) for s in styles * 1]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for style in styles:  # each response holds its own style's picture, not another request's
        assert np.abs(together[style].astype(int) - alone[style]).max() <= 1, style

    big = _photo(1600, 1200, seed=5)
    finished = []
    long_request = threading.Thread(target=lambda: finished.append(post(server, {"style": "udnie",
                                                                                 "style_scale": "1"}, {"image": big})))
    long_request.start()
    time.sleep(0.3)
    with urllib.request.urlopen(server.url + "/", timeout=60) as response:
        assert b"cin-style" in response.read()
    page_answered_first = not finished
    long_request.join(timeout=300)
    assert finished and finished[0][0] == 200
    assert page_answered_first  # the page did not wait for the long request


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
def test_the_page_in_a_headless_browser(server, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(server.url)
        status = lambda d: d.find_element(By.ID, "status").text  # noqa: E731
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 16,
                                        "the gallery did not load")
        driver.find_element(By.ID, "file").send_keys(os.path.abspath(COFFEE))
        WebDriverWait(driver, 120).until(lambda d: status(d).startswith("Preview in"),
                                         "no preview; the page says: " + status(driver))
        driver.find_elements(By.CSS_SELECTOR, ".card")[11].click()  # a second style: a blend
        sliders = driver.find_elements(By.CSS_SELECTOR, "#blend input[type=range]")
        assert [s.get_attribute("data-style") for s in sliders] == ["composition_vii", "starry_night"]
        driver.execute_script("arguments[0].value = 80; arguments[0].dispatchEvent(new Event('input'))", sliders[1])
        WebDriverWait(driver, 120).until(lambda d: status(d).startswith("Preview in"))
        before = driver.execute_script("return document.getElementById('result').src")
        # paint region 1 (its own style) with the brush across the middle of the photo
        from selenium.webdriver.common.action_chains import ActionChains

        driver.find_element(By.CSS_SELECTOR, ".brush[data-region='0']").click()
        paint = driver.find_element(By.ID, "paint")
        ActionChains(driver).move_to_element_with_offset(paint, -100, 0).click_and_hold() \
            .move_by_offset(200, 0).release().perform()
        WebDriverWait(driver, 120).until(
            lambda d: status(d).startswith("Preview in") and
            d.execute_script("return document.getElementById('result').src") != before,
            "no preview after painting a region; the page says: " + status(driver))
        driver.find_element(By.ID, "full").click()
        WebDriverWait(driver, 180).until(lambda d: status(d).startswith("Full size in"),
                                         "no full-size result; the page says: " + status(driver))
        width, kind = driver.execute_script("const r = document.getElementById('result');"
                                            "return [r.naturalWidth, r.dataset.kind];")
        assert (width, kind) == (Image.open(COFFEE).width, "full")
        assert driver.find_element(By.ID, "download").is_displayed()
    finally:
        driver.quit()


def test_listening_beyond_this_machine_warns(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: calls.append((host, port)))
    from cin_style.cli.main import main

    assert main(["app", "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert calls == [("0.0.0.0", 8123)]
    captured = capsys.readouterr()
    assert "anyone who can reach this machine on port 8123 can use the app" in captured.err
    assert "open http://0.0.0.0:8123" in captured.out
    assert main(["app"]) == 0 and "warning" not in capsys.readouterr().err
