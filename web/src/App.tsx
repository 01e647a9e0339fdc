import { KeyBox } from "./components/KeyBox";
import { Link } from "./components/Link";
import { has } from "./gql/queries";
import { parse, useLocation, type Route } from "./lib/router";
import { AnomaliesPage } from "./pages/AnomaliesPage";
import { CampaignsPage } from "./pages/CampaignsPage";
import { HomePage, SearchBox } from "./pages/HomePage";
import { JobsPage, ModelsPage } from "./pages/JobsPage";
import { OverviewPage } from "./pages/OverviewPage";
import { SegmentsPage } from "./pages/SegmentsPage";
import { WalletPage } from "./pages/WalletPage";

const NAV: [string, string, Route["page"]][] = [
  ["/app/", "Search", "home"],
  ["/app/anomalies", "Anomalies", "anomalies"],
  ["/app/overview", "Typologies & clusters", "overview"],
  ["/app/segments", "Segments", "segments"],
  ["/app/campaigns", "Campaigns", "campaigns"],
  ["/app/jobs", "Jobs", "jobs"],
  ...(has("Query", "models") ? ([["/app/models", "Models", "models"]] as [string, string, Route["page"]][]) : []),
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "home":
      return <HomePage />;
    case "wallet":
      return <WalletPage key={route.address} address={route.address} />;
    case "anomalies":
      return <AnomaliesPage />;
    case "overview":
      return <OverviewPage />;
    case "segments":
      return <SegmentsPage key={route.id ?? ""} id={route.id} />;
    case "campaigns":
      return <CampaignsPage key={route.id ?? ""} id={route.id} />;
    case "jobs":
      return <JobsPage />;
    case "models":
      return <ModelsPage />;
    default:
      return (
        <section className="card">
          <h1>Not found</h1>
          <p>The app has no page at {route.path}.</p>
        </section>
      );
  }
}

export function App() {
  const location = useLocation();
  const route = parse(location.split("?")[0]);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/app/" className="brand">aidrop</Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label, page]) => (
              <li key={to}>
                <Link to={to} className={route.page === page ? "active" : undefined}>{label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <SearchBox compact />
        <KeyBox />
      </header>
      <main id="main">
        <Page route={route} />
      </main>
      <footer className="muted small">aidrop · GraphQL at <a href="/graphql">/graphql</a></footer>
    </>
  );
}
