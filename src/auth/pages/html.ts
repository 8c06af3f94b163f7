// HTML building blocks of the SMART authorization pages (issue 10): escaping for text and
// attribute values, and the page frame. Every dynamic value goes through escapeHtml; the only
// style is one <style> element carrying the response's CSP nonce; no script at all.
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A piece of markup that is already safe (built from escaped parts). */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** Template tag: interpolated values are escaped unless they are Html (or arrays of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.4rem; }
label { display: block; margin: 0.8rem 0 0.2rem; font-weight: 600; }
input[type=text], input[type=password], input[type=search] { width: 100%; padding: 0.45rem; font-size: 1rem; box-sizing: border-box; }
button { margin: 1rem 0.5rem 0 0; padding: 0.5rem 1.2rem; font-size: 1rem; }
.error { color: #a00000; border-left: 4px solid #a00000; padding-left: 0.6rem; }
.scope label, .patient label { display: inline; font-weight: normal; }
ul.choices { list-style: none; padding: 0; }
ul.choices li { margin: 0.5rem 0; }
.muted { color: #555; font-size: 0.9rem; }
`;

/** A complete page; `nonce` must be the one in the response's Content-Security-Policy. */
export function page(options: { title: string; nonce: string; body: Html; head?: Html }): string {
  return `<!DOCTYPE html>
${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title}</title>
<style nonce="${options.nonce}">${new Html(STYLE)}</style>
${options.head ?? new Html('')}
</head>
<body>
<main>
${options.body}
</main>
</body>
</html>`.markup}
`;
}

/** An error paragraph, or nothing. */
export const errorNote = (message: string | undefined): Html =>
  message ? html`<p class="error" id="error" role="alert">${message}</p>` : new Html('');
