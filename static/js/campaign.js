// The campaign page's small enhancements. Everything works without this file: the form, the fee
// note and the numbers are plain HTML, validated and computed on the server. This adds the preset
// buttons' pressed state, live estimates (legal time, fee cover) and a 15-second totals refresh.
// Loaded as an external file (no inline script), so it runs under the site's Content-Security-Policy.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en-CA";
  var fr = lang.indexOf("fr") === 0;
  var money = new Intl.NumberFormat(lang, { style: "currency", currency: "CAD" });

  // Dollars typed by a member ("25", "25.50", "25,50 $") to integer cents, or NaN.
  function toCents(text) {
    var m = /^\s*\$?\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*\$?\s*$/.exec((text || "").replace(/\u00a0/g, " "));
    if (!m) return NaN;
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "0") + "0").slice(0, 2), 10);
  }
  function fmt(cents) { return money.format(cents / 100); }

  // Same arithmetic as donations/fees.py, in integer cents: the smallest charge that leaves the
  // gift once Stripe keeps percent × charge + fixed (its fee rounded half up to the cent).
  function feeCover(giftCents, percent, fixedCents) {
    var bp = Math.round(percent * 100); // hundredths of a percent: 2.9 % -> 290 of 10000
    var fee = function (g) { return fixedCents + Math.floor((g * bp * 2 + 10000) / 20000); };
    var a = (giftCents + fixedCents) * 10000, b = 10000 - bp;
    var gross = Math.floor((a + b - 1) / b);
    if (gross - 1 - fee(gross - 1) >= giftCents) gross -= 1;
    return gross;
  }

  var form = document.getElementById("donate-form");
  if (form) {
    var input = form.querySelector("input[name=amount]");
    var help = document.getElementById("amount-help");
    var cover = form.querySelector("input[name=cover_fees]");
    var feeNote = document.getElementById("fee-note");
    var feeDefault = feeNote ? feeNote.textContent : "";
    var rate = parseFloat(form.dataset.hourlyRate);
    var percent = parseFloat(form.dataset.feePercent);
    var fixed = Math.round(parseFloat(form.dataset.feeFixed) * 100);
    var presets = form.querySelectorAll(".preset");
    var nameField = document.getElementById("name-field");

    var describe = function () {
      var cents = toCents(input.value);
      presets.forEach(function (b) {
        b.setAttribute("aria-pressed", String(parseInt(b.dataset.amount, 10) * 100 === cents));
      });
      if (feeNote && cover) {
        if (cover.checked && cents > 0 && percent >= 0) {
          var gross = feeCover(cents, percent, fixed);
          feeNote.textContent = feeNote.dataset.template
            .replace("__FEE__", fmt(gross - cents)).replace("__TOTAL__", fmt(gross))
            .replace("__GIFT__", fmt(cents));
        } else {
          feeNote.textContent = feeDefault;
        }
      }
      if (!(cents > 0) || !(rate > 0) || !help) return;
      var minutes = Math.floor((cents * 60) / (rate * 100) + 1e-9);
      var h = Math.floor(minutes / 60), m = minutes % 60;
      var time = (h ? h + (fr ? " h " : (h === 1 ? " hour " : " hours ")) : "") +
        (m || !h ? m + (fr ? " min" : (m === 1 ? " minute" : " minutes")) : "");
      help.textContent = help.dataset.buysTemplate.replace("__AMOUNT__", fmt(cents)).replace("__TIME__", time.trim());
    };
    presets.forEach(function (button) {
      button.addEventListener("click", function () { input.value = button.dataset.amount; describe(); input.focus(); });
    });
    input.addEventListener("input", describe);
    if (cover) cover.addEventListener("change", describe);

    // Choosing "Anonymous" hides the name box: nothing typed there is sent or shown.
    var radios = form.querySelectorAll("input[name=shown_as]");
    var syncName = function () {
      var anonymous = form.querySelector("input[name=shown_as][value=anonymous]:checked");
      if (nameField) nameField.hidden = !!anonymous;
    };
    radios.forEach(function (r) { r.addEventListener("change", syncName); });
    syncName();
    if (input.value) describe();
    // After a refused submission, take the member straight to the first field to fix; its
    // message is tied to it by aria-describedby, so a screen reader reads both.
    var invalid = form.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  }

  document.querySelectorAll("textarea.snippet").forEach(function (area) {
    area.addEventListener("focus", function () { area.select(); });
  });

  // Live totals: fetch the progress block every 15 s while the tab is visible, swap it in when it
  // changed, and say the new total once in the polite status region. Failures back off to 2 min.
  var block = document.getElementById("progress");
  var announce = document.getElementById("progress-announce");
  if (block && window.fetch && window.DOMParser) {
    var base = 15000, delay = base, timer = null, last = Date.now();
    var labelOf = function (el) {
      var label = el.querySelector("[data-field=label]");
      return label ? label.textContent.trim() : "";
    };
    var schedule = function () { clearTimeout(timer); timer = setTimeout(refresh, delay); };
    var refresh = function () {
      if (document.hidden) { schedule(); return; }
      last = Date.now();
      fetch(block.dataset.fragmentUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
        .then(function (html) {
          delay = base;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("progress");
          if (fresh && fresh.innerHTML !== block.innerHTML) {
            var before = labelOf(block);
            block.innerHTML = fresh.innerHTML;
            var after = labelOf(block);
            if (announce && after && after !== before) announce.textContent = after;
          }
        })
        .catch(function () { delay = Math.min(delay * 2, 120000); })
        .then(schedule);
    };
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && Date.now() - last >= base) { clearTimeout(timer); refresh(); }
    });
    schedule();
    // Tests and curious readers can ask for a refresh now.
    block.addEventListener("progress:refresh", function () { clearTimeout(timer); refresh(); });
  }
})();
