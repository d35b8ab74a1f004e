// The worksheet keying page (worksheets/key.html) and the decision page: rotate and zoom a
// photo (photos arrive sideways), the blocks' totals as the operator types, and the caucus
// checks of the phone line once every figure is keyed (asked of the server, which runs the
// very same checks). Without this script the forms still work; the checks run on saving.
"use strict";

document.querySelectorAll("figure.zoomable").forEach((figure) => {
  const image = figure.querySelector("img");
  let turn = 0;
  let zoom = 1;
  const draw = () => { image.style.transform = `rotate(${turn}deg) scale(${zoom})`; };
  figure.querySelectorAll("button[data-rotate]").forEach((button) => {
    button.addEventListener("click", () => { turn = (turn + Number(button.dataset.rotate)) % 360; draw(); });
  });
  figure.querySelectorAll("button[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      zoom = Math.min(4, Math.max(0.25, zoom * Number(button.dataset.zoom)));
      draw();
    });
  });
});

const entry = document.getElementById("entry");
if (entry) {
  const checks = document.getElementById("checks");
  const inputs = Array.from(entry.querySelectorAll("fieldset input"));
  let pending = null;

  const totals = () => {
    entry.querySelectorAll("output[id^='total-']").forEach((output) => {
      const block = output.id.slice("total-".length);
      const sum = inputs
        .filter((input) => input.name.startsWith(`${block}-`))
        .reduce((total, input) => total + (/^\d+$/.test(input.value.trim()) ? Number(input.value) : 0), 0);
      output.value = String(sum);
    });
  };

  const show = (lines, empty) => {
    checks.replaceChildren(...(lines.length ? lines : [empty]).map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
  };

  const check = async () => {
    const response = await fetch(entry.dataset.check, { method: "POST", body: new FormData(entry) });
    if (!response.ok) return;
    const answer = await response.json();
    if (!answer.complete) show([], "Shown once every figure is keyed.");
    else show(answer.findings, "No finding: the figures pass the caucus checks.");
  };

  entry.addEventListener("input", () => {
    totals();
    clearTimeout(pending);
    pending = setTimeout(check, 300);
  });
  totals();
}
