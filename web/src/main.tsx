import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { WALLET } from "./gql/queries";
import { parse } from "./lib/router";
import { prefetch } from "./lib/useQuery";
import "./style.css";

// a wallet deep link: its query starts now, not after React's first render (cold first render)
const route = parse(location.pathname);
if (route.page === "wallet") prefetch(WALLET, { address: route.address });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
