// The shell side of name completion: a layer in front of the bash and zsh functions
// plugin-autocomplete generates (which complete command and flag names). Past the
// first word and off a flag, it asks `fvm __complete` for what may go under the
// cursor; when that prints nothing (not an argument, no instance) the plugin's
// function answers as before.
import fs from 'node:fs'
import path from 'node:path'

// The hidden command the layers call; a file that names it has its layer already.
const COMMAND = '__complete'

function bashLayer(bin: string): string {
  return `
# ${bin}: names from the pool where an argument goes (${bin} ${COMMAND}), else the above.
_${bin}_complete() {
  if [[ $COMP_CWORD -ge 2 && \${COMP_WORDS[COMP_CWORD]} != -* ]]; then
    mapfile -t COMPREPLY < <(${bin} ${COMMAND} -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [[ \${#COMPREPLY[@]} -gt 0 ]]; then
      # "mydata/" is half a name: no space after it.
      [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == */ ]] && compopt -o nospace 2>/dev/null
      return 0
    fi
  fi
  _${bin}_autocomplete
}
complete -F _${bin}_complete ${bin}
`
}

function zshLayer(bin: string): string {
  return `# ${bin}: names from the pool where an argument goes (${bin} ${COMMAND}), else the plugin's _${bin}.
_${bin}_names() {
  (( CURRENT > 2 )) && [[ \${words[CURRENT]} != -* ]] || return 1
  local -a names
  names=(\${(f)"$(${bin} ${COMMAND} -- "\${(@Q)words[2,CURRENT]}" 2>/dev/null)"})
  (( \${#names} )) || return 1
  compadd -S '' -- \${(M)names:#*/}
  compadd -- \${names:#*/}
  return 0
}
functions -c _${bin} _${bin}_commands
_${bin}() { _${bin}_names || _${bin}_commands "$@" }
_${bin} "$@"
`
}

/**
 * Adds the layer to the files under `functionsDir` (the plugin's
 * <cache>/autocomplete/functions). The zsh file is an autoloaded function body that
 * ends by calling the function it defines; the layer takes that call's place.
 */
export function addNameCompletion(functionsDir: string, bin: string): void {
  const bash = path.join(functionsDir, 'bash', `${bin}.bash`)
  const zsh = path.join(functionsDir, 'zsh', `_${bin}`)
  const bashText = fs.readFileSync(bash, 'utf8')
  if (!bashText.includes(COMMAND)) fs.writeFileSync(bash, bashText + bashLayer(bin))
  const zshText = fs.readFileSync(zsh, 'utf8')
  const call = `\n_${bin}\n`
  if (!zshText.includes(COMMAND) && zshText.endsWith(call)) fs.writeFileSync(zsh, zshText.slice(0, -call.length + 1) + zshLayer(bin))
}
