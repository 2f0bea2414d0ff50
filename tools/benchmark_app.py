#!/usr/bin/env python3
"""`cin-style app` against the library in one run: the API's time for a 512 px preview against
`TFLiteStylizer.stylize` on the same image (medians of interleaved rounds; target: the server adds at most 20%),
and, with chromium and chromedriver installed, the page's time from choosing a photo to the first result.

Example:
  python tools/benchmark_app.py --photo assets/examples/coffee.png --rounds 15 --json docs/benchmarks/app.json \
      --screenshot docs/app.jpg
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("photo", "assets/examples/coffee.png", "The photo (resized to 512 px on the long side).")
flags.DEFINE_integer("rounds", 15, "Interleaved rounds.")
flags.DEFINE_string("style", "starry_night", "Style.")
flags.DEFINE_string("json", None, "Write the figures here.")
flags.DEFINE_string("screenshot", None, "Also save a screenshot of the page (a blend of two styles, full size) here.")


def main(argv):
    del argv
    import io

    from PIL import Image

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "app"))
    from test_app import Server, post  # the test suite's server harness and multipart client

    from cin_style.stylization.tflite_backend import TFLiteStylizer, usable_cpu_count

    with Image.open(FLAGS.photo) as image:
        photo = image.convert("RGB")
        photo.thumbnail((512, 512))
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    upload = buffer.getvalue()
    server = Server(workers=1)  # one request at a time: the same threads as the library call
    library = TFLiteStylizer(num_threads=usable_cpu_count())
    api_times, library_times = [], []
    try:
        for round_index in range(FLAGS.rounds + 1):  # the first round warms both up and is not counted
            start = time.perf_counter()
            status, _, _ = post(server, {"style": FLAGS.style, "preview": "true"}, {"image": upload})
            api = time.perf_counter() - start
            assert status == 200
            start = time.perf_counter()
            library.stylize(photo, FLAGS.style)
            direct = time.perf_counter() - start
            if round_index:
                api_times.append(api)
                library_times.append(direct)
        page = _page_first_result(server.url) if shutil.which("chromium") and shutil.which("chromedriver") else None
    finally:
        server.stop()
    report = {"machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
              "size": list(photo.size), "rounds": FLAGS.rounds,
              "api_median_ms": statistics.median(api_times) * 1e3,
              "library_median_ms": statistics.median(library_times) * 1e3,
              "api_over_library": statistics.median(api_times) / statistics.median(library_times),
              "page_first_result_s": page}
    print(f"{photo.size[0]}x{photo.size[1]}: API {report['api_median_ms']:.0f} ms, library "
          f"{report['library_median_ms']:.0f} ms (medians of {FLAGS.rounds}); API / library "
          f"{report['api_over_library']:.2f}; page, photo chosen to first result: "
          f"{'n/a' if page is None else f'{page:.2f} s'}")
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


def _page_first_result(url: str) -> float:
    import io
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(url)
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) > 0)
        start = time.perf_counter()
        driver.find_element(By.ID, "file").send_keys(os.path.abspath(FLAGS.photo))
        WebDriverWait(driver, 120).until(lambda d: d.find_element(By.ID, "status").text.startswith("Preview in"))
        seconds = time.perf_counter() - start
        if FLAGS.screenshot:
            driver.find_elements(By.CSS_SELECTOR, ".card")[11].click()  # blend in The Starry Night
            driver.find_element(By.ID, "full").click()
            WebDriverWait(driver, 120).until(
                lambda d: d.find_element(By.ID, "status").text.startswith("Full size in"))
            from PIL import Image

            shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
            shot.save(FLAGS.screenshot, quality=85)
        return seconds
    finally:
        driver.quit()


if __name__ == "__main__":
    app.run(main)
