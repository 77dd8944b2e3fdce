// Client-side search over window.SEARCH_INDEX (search-index.js): every word typed must appear in a page's
// title or text. Results are built with textContent only, never innerHTML.
(function () {
  "use strict";
  var index = window.SEARCH_INDEX || [];
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var prepared = index.map(function (entry) {
    return { entry: entry, haystack: (entry.title + " " + entry.text).toLowerCase() };
  });

  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "… " : "") + text.substr(start, 180) + " …";
  }

  function run() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!words.length) { status.textContent = "Type to search " + index.length + " pages."; return; }
    var hits = prepared.filter(function (item) {
      return words.every(function (word) { return item.haystack.indexOf(word) !== -1; });
    }).map(function (item) {
      var inTitle = words.filter(function (w) { return item.entry.title.toLowerCase().indexOf(w) !== -1; });
      return { entry: item.entry, score: inTitle.length };
    }).sort(function (a, b) { return b.score - a.score || a.entry.title.localeCompare(b.entry.title); });
    status.textContent = hits.length + (hits.length === 1 ? " page" : " pages") + " found.";
    hits.slice(0, 50).forEach(function (hit) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = hit.entry.page;
      a.textContent = hit.entry.title;
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = snippet(hit.entry.text, words[0]);
      li.appendChild(a);
      li.appendChild(p);
      list.appendChild(li);
    });
  }

  input.addEventListener("input", run);
  // Enter searches in place (no inline handler: the pages' Content-Security-Policy allows only script files)
  document.getElementById("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  var fromUrl = new URLSearchParams(window.location.search).get("q");
  if (fromUrl) { input.value = fromUrl; }
  run();
})();
