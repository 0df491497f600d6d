/** A note or warning as the command line prints it (empty for none). */
import { asNotice, COMMAND_LINE_SPELLING, type NoteInput, renderNotice } from '../../src/mapping/notices.js';

export const cliText = (note: NoteInput | undefined): string =>
  note === undefined ? '' : renderNotice(asNotice(note), COMMAND_LINE_SPELLING);
