package verdict

import "github.com/flowsift/flowsift/analyze/policy"

// compile builds the fast chain evaluator. (Placeholder: reference walk
// until the index lands.)
func compile(set *policy.Set) chainEval { return reference{} }
