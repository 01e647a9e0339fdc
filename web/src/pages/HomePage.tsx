import { useState } from "react";
import { ErrorBox } from "../components/ErrorBox";
import { isAddress } from "../lib/format";
import { navigate } from "../lib/router";
import { AnomalyTable } from "./AnomaliesPage";

export function SearchBox({ compact = false }: { compact?: boolean }) {
  const [text, setText] = useState("");
  const [bad, setBad] = useState(false);
  const id = compact ? "search-compact" : "search";
  return (
    <form
      role="search"
      aria-label={compact ? "Search a wallet (any page)" : "Search a wallet"}
      className={compact ? "search compact" : "search"}
      onSubmit={(e) => {
        e.preventDefault();
        const a = text.trim();
        if (!isAddress(a)) {
          setBad(true);
          return;
        }
        setBad(false);
        setText("");
        navigate(`/app/wallet/${a}`);
      }}
    >
      <label htmlFor={id} className={compact ? "sr-only" : undefined}>
        Wallet address
      </label>
      <input id={id} value={text} onChange={(e) => setText(e.target.value)} placeholder="0x… wallet address" spellCheck={false} aria-invalid={bad} />
      <button type="submit">Search</button>
      {bad && !compact && <ErrorBox error={Object.assign(new Error("expected 0x followed by 40 hex digits"), { name: "INVALID_ADDRESS" })} />}
    </form>
  );
}

export function HomePage() {
  return (
    <>
      <section className="card">
        <h1>Investigate a wallet</h1>
        <p>Search an address to see who it is, why it scored as it did and where its money went.</p>
        <SearchBox />
      </section>
      <section className="card" aria-labelledby="top-h">
        <h2 id="top-h">Most anomalous wallets</h2>
        <AnomalyTable first={10} />
      </section>
    </>
  );
}
