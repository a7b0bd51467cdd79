#include <iostream>
#include <algorithm>
#include "spaces/search_space.h"
#include "predictor/arch_text.h"
#include "predictor/bpe_tokenizer.h"
int main(){ auto s = nas::spaces::make_space("nb201"); std::vector<nas::spaces::Genotype> gs; for(uint64_t i=0;i<15625;i++) gs.push_back(s->at(i));
 auto t = nas::predictor::architecture_texts(*s, gs, "cifar10"); std::vector<std::string> c; for(int i=0;i<400;i++) c.push_back(t[i*37].text);
 auto tok = nas::predictor::BpeTokenizer::train(c,{}); std::vector<size_t> n, d, ch; 
 for(auto&x:t){ n.push_back(tok.encode(x.text,"nb201").size()); auto pos = x.text.find("def resblock"); d.push_back(tok.encode(x.text.substr(0,pos),"nb201").size()); ch.push_back(x.text.size()); }
 std::sort(n.begin(),n.end()); std::sort(d.begin(),d.end()); std::sort(ch.begin(),ch.end());
 std::cout<<"chars median "<<ch[ch.size()/2]<<" max "<<ch.back()<<"\ntokens median "<<n[n.size()/2]<<" max "<<n.back()<<"\ncell-def end tokens median "<<d[d.size()/2]<<" max "<<d.back()<<"\n";
 std::string rest0 = t[0].text.substr(t[0].text.find("def resblock")); size_t same=0; for(auto&x:t) same += x.text.substr(x.text.find("def resblock"))==rest0; std::cout<<"identical tail: "<<same<<"/"<<t.size()<<"\n";
}
