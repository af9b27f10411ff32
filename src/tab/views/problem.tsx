/** A refused or failed call shown as a message saying why (401 and 403 included). */
import type { ReactElement } from 'react';
import {
  Button,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
} from '@fluentui/react-components';
import { ApiError } from '../api';
import { useSession } from '../session';

/** An error message bar; a 401 offers to sign in again. */
export function Problem({ error }: { error: unknown }): ReactElement | null {
  const { signInAgain } = useSession();
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, (error as Error).message ?? String(error));
  const title = e.status === 401 ? 'Not signed in' : e.status === 403 ? 'Not allowed' : 'That did not work';
  return (
    <MessageBar intent="error" role="alert">
      <MessageBarBody>
        <MessageBarTitle>{title}</MessageBarTitle>
        {e.message}
      </MessageBarBody>
      {e.status === 401 && (
        <MessageBarActions>
          <Button onClick={signInAgain}>Sign in again</Button>
        </MessageBarActions>
      )}
    </MessageBar>
  );
}
