import LabGate

/// The status page's inline style and script. Colours are chosen to be told apart across a room
/// and by people with red-green colour blindness (amber on black text against red and green),
/// and every state is also written in words.
enum StatusPageAssets {
    static let css = """
        :root { color-scheme: dark; }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 1.2vw; background: #0d1117; color: #f0f3f6;
          font: clamp(15px, 1.35vw, 40px)/1.3 system-ui, "DejaVu Sans", sans-serif; }
        header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 2em; margin-bottom: .6em; }
        h1 { font-size: 2em; margin: 0; }
        header p { margin: 0; font-size: 1.2em; }
        .updated { color: #c9d1d9; }
        .offline { position: sticky; top: 0; z-index: 2; background: #ffb300; color: #000; font-weight: 800;
          font-size: 1.6em; padding: .4em .8em; margin-bottom: .6em; border: .2em solid #000; }
        body.stale main { filter: grayscale(1) brightness(.6); }
        .store-lag { background: #b71c1c; color: #fff; font-weight: 800; font-size: 1.3em; padding: .3em .6em; }
        .deviations { background: #3b0a0a; border: .2em solid #ff5252; padding: .3em .8em; margin-bottom: .8em; }
        .deviations h2 { margin: .1em 0; font-size: 1.3em; }
        .deviations ul { margin: 0; padding-left: 1.2em; }
        .deviations li { font-size: 1.15em; margin: .2em 0; }
        .deviations li.open { color: #ffcdd2; }
        .deviations li.recovered, .deviations li.acknowledged { color: #ffe082; }
        .deviations .id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 700; }
        .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(17em, 1fr)); gap: .8em; }
        .tile { border-radius: .4em; padding: .5em .8em; border: .25em solid transparent; }
        .tile h2 { margin: 0; font-size: 1.8em; }
        .tile .kind { font-size: .5em; font-weight: 400; opacity: .85; }
        .tile .condition { margin: .1em 0 .3em; font-size: 1.3em; font-weight: 800; letter-spacing: .03em; }
        .tile.in_spec { background: #1b5e20; border-color: #4caf50; }
        .tile.out_of_spec { background: #b71c1c; border-color: #ffffff; }
        .tile.fault { background: #ffb300; color: #000; border-color: #000; }
        .tile.stale { background: #37474f; border: .25em dashed #b0bec5; color: #eceff1; }
        .channels { width: 100%; border-collapse: collapse; }
        .channels th { text-align: left; font-weight: 400; padding-right: .5em; white-space: nowrap; }
        .channels th, .channels td { padding: .1em .3em; vertical-align: baseline; }
        .channels .reading { white-space: nowrap; }
        .channels .value { font-size: 1.8em; font-weight: 700; font-variant-numeric: tabular-nums; }
        .channels .band, .channels .why { display: block; font-size: .85em; opacity: .9; }
        .channels .why { font-weight: 700; opacity: 1; }
        .channels tr.out td { text-decoration: underline; font-weight: 800; }
        .channels .flag { font-size: 1.4em; }
        .last-good { font-size: .85em; }
        .tile p { margin: .2em 0; }
        .tile .deviation { font-weight: 700; }
        .tile .polled { font-size: .85em; opacity: .9; }
        """

    /// Fetches `fragment` every `data-refresh` seconds and swaps it into `<main>`; a failed or
    /// hung fetch leaves the old content, and once nothing arrived for three periods the page goes
    /// grey under a banner saying how long it has been.
    static let script = """
        (function () {
          var period = (+document.body.getAttribute('data-refresh') || 5) * 1000;
          var main = document.getElementById('main');
          var banner = document.getElementById('offline');
          var lastOK = Date.now();
          function words(s) { return s < 120 ? s + ' s' : Math.floor(s / 60) + ' min'; }
          function tick() {
            var age = Math.round((Date.now() - lastOK) / 1000);
            var stale = Date.now() - lastOK > 3 * period;
            var el = document.getElementById('age');
            if (el) el.textContent = age >= 2 ? '(' + words(age) + ' ago)' : '';
            document.body.classList.toggle('stale', stale);
            banner.hidden = !stale;
            if (stale) document.getElementById('offline-age').textContent = words(age);
          }
          function load() {
            var abort = typeof AbortController === 'function' ? new AbortController() : null;
            var timer = setTimeout(function () { if (abort) abort.abort(); }, 2 * period);
            fetch('fragment', { cache: 'no-store', signal: abort ? abort.signal : undefined })
              .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
              .then(function (html) { main.innerHTML = html; lastOK = Date.now(); })
              .catch(function () {})
              .then(function () { clearTimeout(timer); tick(); setTimeout(load, period); });
          }
          setInterval(tick, 1000);
          setTimeout(load, period);
        })();
        """
}
