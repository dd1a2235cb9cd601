// The kiosk screen: renders the terminal's STATE messages and sends its commands over the same
// WebSocket an integrator uses (docs/kiosk.md). No framework, no build step. The PIN is held
// only in the input field until it is sent, then cleared; nothing is stored in the browser.
"use strict";

const T = {
  ja: {
    brand: "証明書交付サービス", lang: "English", large: "文字を大きく", stopVoice: "音声停止",
    cancel: "やめる", simTitle: "シミュレーター", simInsert: "カードを置く", simRemove: "カードを取る",
    connecting: "接続しています…", secondsLeft: (s) => `残り ${s} 秒`,
    out_of_service: "ただいま利用できません",
    outOfServiceText: "サービス時間は 6:30〜23:00 です（12月29日〜1月3日と保守日を除く）。",
    maintenance: "保守中です。",
    idle: "証明書の交付", idleButton: "証明書交付（マイナンバーカード）",
    notice: "ご利用にあたって",
    noticeText: "マイナンバーカードと利用者証明用電子証明書の暗証番号（数字4桁）が必要です。画面は他の人に見られないようにしてください。印刷した証明書のデータは印刷後すぐに消去します。",
    accept: "同意して進む",
    wait_card: "カードを置いてください", waitCardText: "マイナンバーカードをカードリーダーに置いてください。",
    card_check: "カードを確認しています", cardCheckText: "カードを動かさないでください。",
    pin_entry: "暗証番号を入力してください", pinLabel: "暗証番号（数字4桁）", keypad: "数字キー",
    tries: (n, max) => `残り ${n} 回（全 ${max} 回）`,
    lastTry: "あと1回間違えるとカードの暗証番号がロックされ、市区町村の窓口での手続きが必要になります。",
    pinWrong: "暗証番号が違います。", lastTryConfirm: "理解したうえで入力します", clear: "訂正", ok: "確定",
    pinFormat: "暗証番号は数字4桁です。", confirmLastTry: "最後の1回です。確認にチェックを入れてください。",
    authenticating: "確認しています", authenticatingText: "交付センターに接続しています。",
    remove_card: "カードをお取りください", removeCardText: "カードを取ると次に進みます。",
    choose_document: "証明書を選んでください", document: "証明書", scope: "範囲", options: "記載する項目",
    copies: "通数", fewer: "1通減らす", more: "1通増やす", next: "次へ",
    perCopy: (fee) => `1通 ${fee} 円`, unavailable: "この証明書はここでは交付できません",
    confirm_fee: "料金の確認", fee: "料金", pay: "支払う", back: "選び直す",
    payment: "料金を入れてください", paid: (p, f) => `投入金額 ${p} 円 ／ 料金 ${f} 円`,
    fetch: "証明書を準備しています", fetchText: "しばらくお待ちください。",
    print: "印刷しています", printText: "印刷には2分以上かかることがあります。",
    collect: "証明書をお取りください", taken: "受け取りました",
    complete: "ご利用ありがとうございました", finish: "終了",
    ended: "終了しました", close: "閉じる", windowText: "市区町村の窓口でお手続きください。", takeCard: "カードをお忘れなく。",
    transaction: "取引番号",
    reasons: {
      not_my_number_card: "マイナンバーカードではありません。", juki_card: "住民基本台帳カードは使えません。",
      certificate_expired: "利用者証明用電子証明書の有効期限が切れています。",
      certificate_not_yet_valid: "利用者証明用電子証明書がまだ有効ではありません。",
      pin_blocked: "暗証番号がロックされています。", card_unreadable: "カードを読み取れませんでした。",
      card_removed_during_session: "読み取り中にカードが取り除かれました。",
      cancelled_by_user: "取り消しました。", moved_out: "転出の届出があるため交付できません。",
      support_measure: "支援措置の対象のため交付できません。", deceased: "交付できません。",
      move_in_today: "転入日当日のため交付できません。", name_too_long: "氏名・住所の文字数により交付できません。",
      gaiji_pending: "文字の登録手続き中のため交付できません。", signature_invalid: "カードの認証に失敗しました。",
      certificate_revoked: "電子証明書が失効しています。", unknown_certificate: "このカードは登録されていません。",
      under_15: "15歳未満の方はご利用いただけません。", card_not_active: "このカードは一時停止または使用できません。",
      media_jam: "用紙が詰まりました。料金は返却しました。", media_empty: "用紙がありません。料金は返却しました。",
      print_cancelled: "印刷を中止しました。料金は返却しました。",
      printer_not_answering: "印刷できませんでした。料金は返却しました。",
      document_not_confirmed: "証明書をお取りください。",
    },
    timeout: "時間切れのため終了しました。", genericError: "処理を完了できませんでした。料金を投入していた場合は返却しました。",
  },
  en: {
    brand: "Certificate issuance", lang: "日本語", large: "Larger text", stopVoice: "Stop voice",
    cancel: "Cancel", simTitle: "Simulator", simInsert: "Place card", simRemove: "Take card",
    connecting: "Connecting…", secondsLeft: (s) => `${s} s left`,
    out_of_service: "Out of service",
    outOfServiceText: "Service hours are 6:30–23:00 (closed 29 Dec–3 Jan and on maintenance days).",
    maintenance: "Under maintenance.",
    idle: "Certificates", idleButton: "Get a certificate (My Number Card)",
    notice: "Before you start",
    noticeText: "You need your My Number Card and the 4-digit PIN of its user-authentication certificate. Keep the screen out of others' view. The certificate data is erased right after printing.",
    accept: "Agree and continue",
    wait_card: "Place your card", waitCardText: "Place your My Number Card on the card reader.",
    card_check: "Checking your card", cardCheckText: "Please do not move the card.",
    pin_entry: "Enter your PIN", pinLabel: "PIN (4 digits)", keypad: "Number keys",
    tries: (n, max) => `${n} of ${max} tries left`,
    lastTry: "One try left: a wrong PIN locks the card, and unlocking it needs a visit to the municipal office.",
    pinWrong: "The PIN is wrong.", lastTryConfirm: "I understand; use my last try", clear: "Clear", ok: "OK",
    pinFormat: "The PIN has 4 digits.", confirmLastTry: "This is the last try: tick the box to confirm.",
    authenticating: "Checking", authenticatingText: "Contacting the issuance centre.",
    remove_card: "Take your card", removeCardText: "Take the card off the reader to continue.",
    choose_document: "Choose a certificate", document: "Certificate", scope: "Scope", options: "Items to print",
    copies: "Copies", fewer: "One copy fewer", more: "One copy more", next: "Next",
    perCopy: (fee) => `¥${fee} per copy`, unavailable: "This certificate cannot be issued here",
    confirm_fee: "Confirm the fee", fee: "Fee", pay: "Pay", back: "Change choice",
    payment: "Insert the fee", paid: (p, f) => `Paid ¥${p} of ¥${f}`,
    fetch: "Preparing your certificate", fetchText: "Please wait.",
    print: "Printing", printText: "Printing can take more than 2 minutes.",
    collect: "Take your certificate", taken: "I have taken it",
    complete: "Thank you", finish: "Finish",
    ended: "Session ended", close: "Close", windowText: "Please go to the municipal office window.", takeCard: "Don't forget your card.",
    transaction: "Transaction",
    reasons: {
      not_my_number_card: "This is not a My Number Card.", juki_card: "Basic Resident Register cards cannot be used.",
      certificate_expired: "The user-authentication certificate has expired.",
      certificate_not_yet_valid: "The user-authentication certificate is not valid yet.",
      pin_blocked: "The PIN is locked.", card_unreadable: "The card could not be read.",
      card_removed_during_session: "The card was taken away while it was being read.",
      cancelled_by_user: "Cancelled.", moved_out: "A move-out has been filed: no certificate can be issued here.",
      support_measure: "Not available for residents under a support measure.", deceased: "Cannot be issued.",
      move_in_today: "Not available on the day of a move-in.", name_too_long: "The name or address is too long for kiosk issuance.",
      gaiji_pending: "A character of the name is still being registered.", signature_invalid: "The card could not be authenticated.",
      certificate_revoked: "The certificate has been revoked.", unknown_certificate: "This card is not registered.",
      under_15: "Residents under 15 cannot use the kiosk.", card_not_active: "This card is suspended or no longer in use.",
      media_jam: "Paper jam: your money was returned.", media_empty: "Out of paper: your money was returned.",
      print_cancelled: "Printing was stopped: your money was returned.",
      printer_not_answering: "The printer did not answer: your money was returned.",
      document_not_confirmed: "Please take your certificate.",
    },
    timeout: "The session timed out.", genericError: "The request could not be completed. Any money inserted was returned.",
  },
};

let lang = "ja";
let socket = null;
let view = { state: "connecting" };
let renderedKey = "";
let copies = 1;
let deadline = null; // local clock time when the state times out (counted down between messages)

const $ = (id) => document.getElementById(id);
const t = (key) => T[lang][key];

function send(command) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(command));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function button(label, onclick, cls = "") {
  return el("button", { type: "button", class: cls, onclick }, label);
}

function screen(title, ...content) {
  const main = $("screen");
  main.replaceChildren(el("h1", { id: "title", tabindex: "-1" }, title), ...content);
  $("title").focus();
}

function reasonText(v) {
  if (v.result === "timeout") return t("timeout");
  return t("reasons")[v.reason] || (v.result === "completed" ? "" : t("genericError"));
}

const screens = {
  connecting: () => screen(t("connecting")),
  out_of_service: (v) => screen(t("out_of_service"), el("p", {}, v.maintenance ? t("maintenance") : t("outOfServiceText"))),
  idle: () => screen(t("idle"), button(t("idleButton"), () => send({ cmd: "START" }), "big")),
  notice: () => screen(t("notice"), el("p", {}, t("noticeText")),
    el("div", { class: "actions" }, button(t("accept"), () => send({ cmd: "ACCEPT" })))),
  wait_card: () => screen(t("wait_card"), el("p", {}, t("waitCardText"))),
  card_check: () => screen(t("card_check"), el("p", {}, t("cardCheckText"))),
  pin_entry: renderPin,
  authenticating: () => screen(t("authenticating"), el("p", {}, t("authenticatingText"))),
  remove_card: () => screen(t("remove_card"), el("p", {}, t("removeCardText"))),
  choose_document: renderChoice,
  confirm_fee: (v) => screen(t("confirm_fee"), summary(v),
    el("div", { class: "actions" }, button(t("back"), () => send({ cmd: "BACK" }), "secondary"),
      button(t("pay"), () => send({ cmd: "CONFIRM_FEE" })))),
  payment: (v) => screen(t("payment"), el("p", { class: "amount", id: "paid" }, t("paid")(v.paid, v.fee))),
  fetch: () => screen(t("fetch"), el("p", {}, t("fetchText"))),
  print: () => screen(t("print"), el("p", {}, t("printText"))),
  collect: () => screen(t("collect"), el("div", { class: "actions" },
    button(t("taken"), () => send({ cmd: "TAKE_DOCUMENT" })))),
  complete: (v) => screen(t("complete"), el("p", {}, reasonText(v)),
    el("p", {}, `${t("transaction")}: ${v.transaction_id || "—"}`),
    el("div", { class: "actions" }, button(t("finish"), () => send({ cmd: "ACKNOWLEDGE" })))),
  ended: (v) => screen(t("ended"), el("p", { id: "reason" }, reasonText(v)),
    v.municipal_window ? el("p", { class: "window" }, t("windowText")) : "",
    v.card_present ? el("p", { class: "warning" }, t("takeCard")) : "",
    el("div", { class: "actions" }, button(t("close"), () => send({ cmd: "ACKNOWLEDGE" })))),
};

function summary(v) {
  const doc = (v.selection && v.selection.document) || "";
  return el("dl", {}, el("dt", {}, t("document")), el("dd", {}, doc),
    el("dt", {}, t("copies")), el("dd", {}, String(v.selection ? v.selection.copies : "")),
    el("dt", {}, t("fee")), el("dd", { class: "amount" }, lang === "ja" ? `${v.fee} 円` : `¥${v.fee}`));
}

function renderPin(v) {
  const input = el("input", { id: "pin", type: "password", inputmode: "numeric", autocomplete: "off",
    maxlength: "4", pattern: "[0-9]{4}", "aria-describedby": "tries" + (v.last_try ? " last-try" : "") });
  const confirm = el("input", { id: "confirm-last", type: "checkbox" });
  const submit = () => {
    const pin = input.value;
    input.value = "";
    if (!/^[0-9]{4}$/.test(pin)) { $("status").textContent = t("pinFormat"); input.focus(); return; }
    if (v.last_try && !confirm.checked) { $("status").textContent = t("confirmLastTry"); confirm.focus(); return; }
    $("status").textContent = "";
    send({ cmd: "SET_PIN", value: pin, confirm_last_try: v.last_try && confirm.checked });
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].map((d) => button(d, () => { if (input.value.length < 4) input.value += d; }));
  const pad = el("div", { class: "keypad", role: "group", "aria-label": t("keypad") }, ...keys,
    button(t("clear"), () => { input.value = ""; input.focus(); }, "secondary"),
    button("0", () => { if (input.value.length < 4) input.value += "0"; }),
    button(t("ok"), submit));
  screen(t("pin_entry"),
    v.previous === "authenticating" ? el("p", { id: "pin-wrong", class: "warning" }, t("pinWrong")) : "",
    el("p", { id: "tries" }, t("tries")(v.tries_left, v.max_tries)),
    v.last_try ? el("p", { id: "last-try", class: "warning", role: "alert" }, t("lastTry")) : "",
    el("div", { class: "pin" }, el("label", { for: "pin" }, t("pinLabel")), el("br"), input),
    v.last_try ? el("label", { class: "choice" }, confirm, t("lastTryConfirm")) : "",
    pad);
  input.focus();
}

function title(item) { return lang === "ja" ? item.title_ja : item.title_en; }

function renderChoice(v) {
  copies = 1;
  const docs = v.documents || [];
  const docSet = el("fieldset", {}, el("legend", {}, t("document")), ...docs.map((d, i) =>
    el("label", { class: "choice" + (d.available ? "" : " unavailable") },
      el("input", { type: "radio", name: "document", value: d.code, checked: i === 0 && d.available, disabled: !d.available }),
      `${title(d)} — ${t("perCopy")(d.fee)}`, d.available ? "" : ` (${t("unavailable")})`)));
  const detail = el("div", { id: "detail" });
  const fillDetail = () => {
    const chosen = docs.find((d) => d.code === (document.querySelector("input[name=document]:checked") || {}).value);
    if (!chosen) { detail.replaceChildren(); return; }
    detail.replaceChildren(
      el("fieldset", {}, el("legend", {}, t("scope")), ...chosen.scopes.map((s, i) =>
        el("label", { class: "choice" }, el("input", { type: "radio", name: "scope", value: s.code, checked: i === 0 }), title(s)))),
      chosen.options.length ? el("fieldset", {}, el("legend", {}, t("options")), ...chosen.options.map((o) =>
        el("label", { class: "choice" }, el("input", { type: "checkbox", name: "option", value: o.code }), title(o)))) : "");
  };
  docSet.addEventListener("change", fillDetail);
  const count = el("output", { id: "copies", "aria-live": "polite" }, "1");
  const setCopies = (n) => { copies = Math.max(1, Math.min(10, n)); count.textContent = String(copies); };
  screen(t("choose_document"), docSet, detail,
    el("fieldset", {}, el("legend", {}, t("copies")), el("div", { class: "copies" },
      el("button", { type: "button", class: "secondary", "aria-label": t("fewer"), onclick: () => setCopies(copies - 1) }, "−"),
      count,
      el("button", { type: "button", class: "secondary", "aria-label": t("more"), onclick: () => setCopies(copies + 1) }, "+"))),
    el("div", { class: "actions" }, button(t("next"), () => {
      const docInput = document.querySelector("input[name=document]:checked");
      const scopeInput = document.querySelector("input[name=scope]:checked");
      if (!docInput || !scopeInput) return;
      send({ cmd: "CHOOSE_DOCUMENT", document: docInput.value, scope: scopeInput.value,
        options: [...document.querySelectorAll("input[name=option]:checked")].map((o) => o.value), copies });
    })));
  fillDetail();
}

function applyChrome() {
  document.documentElement.lang = lang;
  $("brand").textContent = t("brand");
  $("lang").textContent = t("lang");
  $("lang").lang = lang === "ja" ? "en" : "ja";
  $("large").textContent = t("large");
  $("stop-voice").textContent = t("stopVoice");
  $("cancel").textContent = t("cancel");
  $("sim-title").textContent = t("simTitle");
  document.querySelector("[data-sim=SIM_INSERT_CARD]").textContent = t("simInsert");
  document.querySelector("[data-sim=SIM_REMOVE_CARD]").textContent = t("simRemove");
  document.querySelector("nav.tools").setAttribute("aria-label", lang === "ja" ? "表示の設定" : "Display settings");
}

const SESSION = new Set(["notice", "wait_card", "card_check", "pin_entry", "authenticating", "remove_card",
  "choose_document", "confirm_fee", "payment", "fetch", "print", "collect"]);

function render(force = false) {
  const v = view;
  const key = JSON.stringify([lang, v.state, v.tries_left, v.last_try, v.result, v.reason, v.card_present,
    v.documents && v.documents.length, v.fee, v.maintenance]);
  $("cancel").hidden = !SESSION.has(v.state);
  showTimer();
  if (v.state === "payment" && $("paid")) $("paid").textContent = t("paid")(v.paid, v.fee);
  if (!force && key === renderedKey) return;
  renderedKey = key;
  $("status").textContent = "";
  (screens[v.state] || screens.connecting)(v);
}

function showTimer() {
  const left = deadline === null ? null : Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  $("timer").textContent = left !== null && SESSION.has(view.state) ? t("secondsLeft")(left) : "";
}

function onMessage(event) {
  const message = JSON.parse(event.data);
  if (message.msg === "STATE") {
    view = message;
    deadline = message.seconds_left == null ? null : Date.now() + message.seconds_left * 1000;
    if (message.language && message.language !== lang) { lang = message.language; applyChrome(); render(true); }
    $("simulator").hidden = !(message.devices && (message.devices.reader_simulated || message.devices.payment_simulated));
    if (message.devices) {
      $("sim-card").hidden = !message.devices.reader_simulated;
      $("sim-cash").hidden = !message.devices.payment_simulated;
    }
    render();
  } else if (message.msg === "INVALID" || message.msg === "BAD_STATE") {
    const reasons = t("reasons");
    $("status").textContent = reasons[message.error] || (message.error === "CONFIRM_LAST_TRY" ? t("confirmLastTry") : message.detail || message.error);
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", () => { view = { state: "connecting" }; render(true); setTimeout(connect, 1000); });
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("click", () => { lang = lang === "ja" ? "en" : "ja"; send({ cmd: "SET_LANGUAGE", language: lang }); applyChrome(); render(true); });
  $("large").addEventListener("click", () => {
    const on = document.documentElement.classList.toggle("large");
    $("large").setAttribute("aria-pressed", String(on));
  });
  $("stop-voice").addEventListener("click", () => send({ cmd: "STOP_REMINDER" }));
  $("cancel").addEventListener("click", () => send({ cmd: "CANCEL" }));
  document.querySelectorAll("[data-sim]").forEach((b) => b.addEventListener("click", () => send({ cmd: b.dataset.sim })));
  document.querySelectorAll("[data-yen]").forEach((b) => b.addEventListener("click", () => send({ cmd: "SIM_INSERT_CASH", yen: Number(b.dataset.yen) })));
  applyChrome();
  render(true);
  connect();
  setInterval(showTimer, 1000);
});
