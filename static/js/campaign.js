// Amount picker and live totals for the campaign page. Works without it: the form and the numbers
// are plain HTML; this only adds the preset buttons' state, the time estimate and a 15 s refresh.
(function () {
  "use strict";
  var form = document.getElementById("donate-form");
  if (form) {
    var input = form.querySelector("input[name=amount]");
    var help = document.getElementById("amount-help");
    var rate = parseFloat(form.dataset.hourlyRate);
    var presets = form.querySelectorAll(".preset");
    var lang = document.documentElement.lang || "en-CA";
    var money = new Intl.NumberFormat(lang, { style: "currency", currency: "CAD" });
    var describe = function () {
      var value = parseFloat((input.value || "").replace(",", ".").replace("$", ""));
      presets.forEach(function (b) { b.setAttribute("aria-pressed", String(parseFloat(b.dataset.amount) === value)); });
      if (!(value > 0) || !(rate > 0) || !help) return;
      var minutes = Math.floor((value * 60) / rate + 1e-9);
      var h = Math.floor(minutes / 60), m = minutes % 60;
      var fr = lang.indexOf("fr") === 0;
      var time = (h ? h + (fr ? " h " : (h === 1 ? " hour " : " hours ")) : "") + (m || !h ? m + (fr ? " min" : (m === 1 ? " minute" : " minutes")) : "");
      help.textContent = help.dataset.buysTemplate.replace("__AMOUNT__", money.format(value)).replace("__TIME__", time.trim());
    };
    presets.forEach(function (button) {
      button.addEventListener("click", function () { input.value = button.dataset.amount; describe(); input.focus(); });
    });
    input.addEventListener("input", describe);
  }
  var block = document.getElementById("progress");
  if (block && window.fetch) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(block.dataset.fragmentUrl, { headers: { Accept: "text/html" }, credentials: "omit" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("progress");
          if (fresh && fresh.innerHTML !== block.innerHTML) block.innerHTML = fresh.innerHTML;
        })
        .catch(function () {});
    }, 15000);
  }
})();
