import { describeError } from "../lib/errors";

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const { code, title, detail } = describeError(error);
  return (
    <div className="error" role="alert" data-code={code}>
      <strong>{title}</strong>
      <div className="muted">
        {detail} <code>{code}</code>
      </div>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}
