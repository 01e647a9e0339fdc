import { useEffect, useState } from "react";
import { apiKey, onApiKey, setApiKey } from "../lib/apikey";

/** API key entry: mutations send it; it lives in this tab's sessionStorage only. */
export function KeyBox() {
  const [stored, setStored] = useState(apiKey());
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  useEffect(() => onApiKey(() => setStored(apiKey())), []);
  if (!open) {
    return (
      <button type="button" className="keybtn" onClick={() => setOpen(true)} aria-label={stored ? "API key set: change it" : "Enter an API key"}>
        {stored ? "API key ✓" : "API key"}
      </button>
    );
  }
  return (
    <form
      className="keybox"
      onSubmit={(e) => {
        e.preventDefault();
        setApiKey(text);
        setText("");
        setOpen(false);
      }}
    >
      <label htmlFor="apikey">API key (kept in this tab only)</label>
      <input id="apikey" type="password" autoComplete="off" value={text} onChange={(e) => setText(e.target.value)} placeholder={stored ? "•••• (set)" : "paste the key"} />
      <button type="submit">Save</button>
      {stored && (
        <button type="button" onClick={() => { setApiKey(null); setOpen(false); }}>
          Forget
        </button>
      )}
      <button type="button" onClick={() => setOpen(false)}>
        Close
      </button>
    </form>
  );
}
