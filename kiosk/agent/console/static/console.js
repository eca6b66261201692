// The staff console's calls page: live list (server-sent events), a beep and the title for a new call.
"use strict";
(function () {
  const status = document.getElementById("etat-direct");
  const list = document.getElementById("appels");
  if (!status || !list || !window.EventSource) { return; }
  const centre = status.dataset.centre || "";
  let seen = null; // ids of waiting calls already announced
  let audio = null;

  function makeSound() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
  }

  function unlockSound() {
    // Browsers let a page play sound only after a touch or a click on it.
    makeSound();
    if (audio && audio.state === "suspended") { audio.resume(); }
  }
  document.addEventListener("pointerdown", unlockSound);
  document.addEventListener("keydown", unlockSound);
  // Made at once: this page is loaded again after each login and staff action, a click on the
  // page before it, which lets it play sound straight away (waiting for a touch here left the
  // next call silent); without such a click it stays silent until the first touch.
  makeSound();

  function beep() {
    if (!audio || audio.state !== "running") { return; }
    const now = audio.currentTime;
    [0, 0.25].forEach(function (start) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + start);
      gain.gain.exponentialRampToValueAtTime(0.3, now + start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.18);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + start);
      tone.stop(now + start + 0.2);
    });
  }

  function title(waiting) {
    const head = waiting === 0 ? "Appels" : "(" + waiting + ") Appel" + (waiting > 1 ? "s" : "") + " en attente";
    document.title = head + " — " + centre;
  }

  const stream = new EventSource(status.dataset.stream);
  stream.addEventListener("open", function () { status.textContent = "Mise à jour en direct."; });
  stream.addEventListener("error", function () { status.textContent = "Connexion perdue : nouvel essai…"; });
  stream.addEventListener("ended", function () { stream.close(); window.location.assign("/connexion"); });
  stream.addEventListener("calls", function (event) {
    const data = JSON.parse(event.data);
    list.innerHTML = data.html; // rendered and escaped by the server
    const fresh = data.waiting.filter(function (id) { return seen !== null && seen.indexOf(id) < 0; });
    seen = data.waiting;
    title(data.waiting.length);
    if (fresh.length > 0) { beep(); }
    status.textContent = "Mise à jour en direct.";
  });
})();
