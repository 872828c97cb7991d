import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status">
      Loading {what}…
    </p>
  );
}

/** What went wrong and what to do about it, by error kind. */
export function ErrorState({ error, what }: { error: ApiError; what: string }) {
  let hint: string;
  if (error.status === 0) hint = 'The server did not answer. Check that the tracking server is running, then reload.';
  else if (error.status === 401 || error.status === 403) hint = 'Sign in again: reload the page and enter your credentials.';
  else if (error.status === 404 && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')
    hint = 'It may have been deleted, or the link is wrong. Go back to the list and pick it again.';
  else if (error.status === 404) hint = 'This server does not offer that endpoint; it may be an older version.';
  else if (error.errorCode === 'INVALID_PARAMETER_VALUE' || error.errorCode === 'BAD_REQUEST') hint = 'Fix the search or filter text and try again.';
  else hint = 'Try again; if it keeps failing, look at the tracking server log.';
  return (
    <div class="state error" role="alert">
      <strong>Could not load {what}</strong>
      <div class="error-message">
        {error.errorCode}: {error.message}
      </div>
      <div>{hint}</div>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}
